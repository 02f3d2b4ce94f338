"""Recovery's migrations on a database that already has rows: 0005 (one open case per
account) with duplicates, 0009 (the case owns its conversation) with conversations."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from twostep.chat.models import Conversation
from twostep.recovery.models import RecoveryCase

BEFORE = [("recovery", "0004_request_verified")]


@pytest.mark.django_db(transaction=True)
def test_migration_0005_keeps_the_newest_open_case_per_account_and_cancels_the_others(
    make_user,
):
    ada, bob = make_user(), make_user("bob@example.com", full_name="Bob Byron")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_case = executor.loader.project_state(BEFORE).apps.get_model("recovery", "RecoveryCase")
    start = timezone.now() - timedelta(days=3)

    def make(account, status, days):
        at = start + timedelta(days=days)
        return old_case.objects.create(
            account_id=account.pk,
            source="web",
            status=status,
            claimed_email=account.email,
            created_at=at,
            updated_at=at,
        ).pk

    older = make(ada, "in_verification", 0)
    oldest_closed = make(ada, "done", -1)
    middle = make(ada, "approved", 1)
    newest = make(ada, "awaiting_confirmation", 2)
    bobs = make(bob, "in_verification", 0)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    cases = {case.pk: case for case in RecoveryCase.objects.all()}
    assert cases[newest].status == RecoveryCase.Status.AWAITING_CONFIRMATION
    assert cases[bobs].status == RecoveryCase.Status.IN_VERIFICATION
    assert cases[oldest_closed].status == RecoveryCase.Status.DONE
    assert cases[oldest_closed].close_reason == ""
    for pk in (older, middle):
        assert cases[pk].status == RecoveryCase.Status.CANCELLED
        assert cases[pk].close_reason == "merged: duplicate open case"
        assert cases[pk].closed_at is not None


BEFORE_OWNERSHIP = [
    ("recovery", "0008_support_notice_pending"),
    ("chat", "0003_conversation_one_own_conversation_per_person"),
]


@pytest.mark.django_db(transaction=True)
def test_migration_0009_gives_each_case_the_conversation_that_pointed_at_it(make_user):
    ada = make_user()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_OWNERSHIP)
    old = executor.loader.project_state(BEFORE_OWNERSHIP).apps
    old_case = old.get_model("recovery", "RecoveryCase")
    old_conversation = old.get_model("chat", "Conversation")
    now = timezone.now()

    def make(status):
        return old_case.objects.create(
            account_id=ada.pk,
            source="web",
            status=status,
            claimed_email=ada.email,
            created_at=now,
            updated_at=now,
        )

    talked, silent = make("cancelled"), make("in_verification")
    on_case = old_conversation.objects.create(case_id=talked.pk, created_at=now, updated_at=now)
    old.get_model("chat", "Message").objects.create(
        conversation_id=on_case.pk, body="I lost my phone", created_at=now
    )
    own = old_conversation.objects.create(user_id=ada.pk, created_at=now, updated_at=now)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    kept = RecoveryCase.objects.get(pk=talked.pk).conversation
    assert kept.pk == on_case.pk and kept.kind == Conversation.Kind.CASE
    assert kept.messages.get().body == "I lost my phone"
    made = RecoveryCase.objects.get(pk=silent.pk).conversation
    assert made.kind == Conversation.Kind.CASE and made.user is None
    assert not made.messages.exists()
    assert Conversation.objects.get(pk=own.pk).kind == Conversation.Kind.OWN
    assert Conversation.objects.count() == 3


@pytest.mark.django_db
def test_the_conversation_constraints_mean_what_they_meant(make_user):
    """A person has one conversation of their own; a case's may have no user."""
    ada, now = make_user(), timezone.now()
    times = {"created_at": now, "updated_at": now}
    Conversation.objects.create(user=ada, **times)
    Conversation.objects.create(kind=Conversation.Kind.CASE, **times)
    Conversation.objects.create(kind=Conversation.Kind.CASE, user=ada, **times)
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(user=ada, **times)
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(kind=Conversation.Kind.OWN, user=None, **times)


@pytest.mark.django_db(transaction=True)
def test_migration_0009_goes_back_with_cases_and_their_conversations(make_user):
    """Backwards, each conversation points at its case again. On PostgreSQL the case_id it
    writes is checked at once, or dropping the case's link after it would be refused."""
    ada, now = make_user(), timezone.now()
    conversation = Conversation.objects.create(
        kind=Conversation.Kind.CASE, created_at=now, updated_at=now
    )
    case = RecoveryCase.objects.create(
        account=ada,
        source="web",
        status="in_verification",
        claimed_email=ada.email,
        conversation=conversation,
        created_at=now,
        updated_at=now,
    )

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_OWNERSHIP)
    old = executor.loader.project_state(BEFORE_OWNERSHIP).apps
    assert old.get_model("chat", "Conversation").objects.get(pk=conversation.pk).case_id == case.pk

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert RecoveryCase.objects.get(pk=case.pk).conversation_id == conversation.pk
