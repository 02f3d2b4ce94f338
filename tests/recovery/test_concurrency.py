"""Requests arriving at the same moment (a double-click, the form and an email at once),
worked on by racing workers, still open one case: each thread below has its own database
connection, as app processes and workers would."""

from collections.abc import Callable

import pytest
from django.db import IntegrityError, transaction

from tests.concurrency import at_once
from tests.recovery.conftest import claim
from twostep.audit.models import SecurityEvent
from twostep.chat.models import Conversation
from twostep.mail.models import OutgoingEmail
from twostep.recovery import cases, decisions, intake, verification
from twostep.recovery.models import RecoveryCase, RecoveryRequest, Vouch

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 6
ROUNDS = 5


def submit_at_once(source: str, count: int) -> list[BaseException]:
    """`count` requests arriving together, each followed at once by a worker's pass: the
    workers race over the same received requests."""

    def submit() -> None:
        intake.submit_request(source=source, claim=claim(), ip=None)
        intake.process_requests()

    return at_once(*[submit] * count).errors


def test_simultaneous_requests_for_one_account_open_a_single_case(make_user, grace):
    make_user()
    for _ in range(ROUNDS):
        # Every request is let through: one opens the case, the others are claims on it.
        errors = submit_at_once(RecoveryCase.Source.WEB, 3)

        assert errors == []
        opened = RecoveryCase.objects.filter(status__in=RecoveryCase.OPEN)
        assert opened.count() == 1
        outcomes = sorted(RecoveryRequest.objects.values_list("outcome", flat=True))
        assert outcomes == ["opened a case"] + [intake.UNVERIFIED_CLAIM] * 2
        decisions.reject(actor=grace, case=opened.get(), reason="next round")
        RecoveryRequest.objects.all().delete()


def test_simultaneous_requests_never_mail_more_links_than_the_limit(make_user):
    make_user()

    errors = submit_at_once(RecoveryCase.Source.EMAIL, WORKERS)

    assert errors == []
    outcomes = list(RecoveryRequest.objects.values_list("outcome", flat=True))
    assert len(outcomes) == WORKERS
    assert RecoveryCase.objects.count() == 1
    assert OutgoingEmail.objects.count() == intake.MAX_LINK_MAILS_PER_CASE


def test_a_vouch_is_answered_once_when_answers_arrive_together(charles, grace, verified_case):
    membership = verification.vouch_candidates(verified_case)[0]
    vouch = verification.request_vouch(actor=grace, case=verified_case, membership=membership)

    def answer(confirmed: bool) -> Callable[[], None]:
        def call() -> None:
            mine = Vouch.objects.get(pk=vouch.pk)  # each request loads its own copy
            verification.answer_vouch(manager=charles, vouch=mine, confirmed=confirmed, comment="")

        return call

    errors = at_once(*[answer(n % 2 == 0) for n in range(WORKERS)]).errors

    assert len(errors) == WORKERS - 1
    assert all(isinstance(error, cases.RecoveryError) for error in errors)
    answers = SecurityEvent.objects.filter(type=SecurityEvent.Type.VOUCH_ANSWERED)
    (event,) = answers
    vouch.refresh_from_db()
    assert event.details["answer"] == vouch.answer


def test_a_chat_case_and_a_request_at_once_open_one_case(make_user, grace):
    ada = make_user()
    conversation = Conversation.objects.create(
        user=ada, created_at=ada.date_joined, updated_at=ada.date_joined
    )

    def from_chat() -> None:
        intake.open_case_from_chat(actor=grace, conversation=conversation, note="lost phone")

    for _ in range(ROUNDS):
        intake.submit_request(source=RecoveryCase.Source.WEB, claim=claim(), ip=None)

        errors = at_once(from_chat, intake.process_requests, from_chat).errors

        assert errors == []
        opened = RecoveryCase.objects.filter(status__in=RecoveryCase.OPEN)
        assert opened.count() == 1
        decisions.reject(actor=grace, case=opened.get(), reason="next round")


def test_the_database_refuses_a_second_open_case_for_one_account(make_user):
    ada = make_user()
    cases.open_case(account=ada, source=RecoveryCase.Source.WEB, now=ada.date_joined)

    with pytest.raises(IntegrityError), transaction.atomic():
        cases.open_case(account=ada, source=RecoveryCase.Source.CHAT, now=ada.date_joined)

    closed = RecoveryCase.objects.get()
    closed.status = RecoveryCase.Status.REJECTED
    closed.save()
    cases.open_case(account=ada, source=RecoveryCase.Source.CHAT, now=ada.date_joined)
    assert RecoveryCase.objects.count() == 2
