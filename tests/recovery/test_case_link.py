"""The person's case link: the case page without logging in, the chat with support,
its expiry, and the support notices mailed to the person."""

import pytest
from django.core import mail
from django.test import Client

from tests.helpers import enable_2fa
from tests.recovery.conftest import (
    ADA,
    DAY,
    DELAY,
    Status,
    Type,
    act,
    case_events,
    case_url,
    emails_to,
    file_request,
    last_email_path,
    mailed_path,
    open_link,
)
from twostep.accounts.models import User
from twostep.chat.models import Message
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import deliver_due
from twostep.mfa.models import TOTPDevice
from twostep.recovery import decisions, resets, verification
from twostep.recovery.notices import NOTICE_INTERVAL, write_to_person

# The person's case link.


def test_case_link_shows_the_case_without_logging_in(client, ada, case):
    device_before = TOTPDevice.objects.values().get(user=ada)
    path = last_email_path(ada.email, "recovery:case")

    page = client.get(path, follow=True)

    assert page.status_code == 200
    assert f"Your recovery request #{case.pk}" in page.text
    assert "Awaiting email confirmation" in page.text
    assert "does not log" in page.text
    assert "_auth_user_id" not in client.session
    profile = client.get("/profile/")
    assert profile.status_code == 302 and profile["Location"].startswith("/login/")
    assert TOTPDevice.objects.values().get(user=ada) == device_before


def test_person_talks_to_support_on_the_case_link(agent, ada, verified_case):
    client = Client()
    path = last_email_path(ada.email, "recovery:case")

    url = open_link(client, path)
    posted = client.post(url, {"body": "I lost my phone on the train. Please reset my 2FA!"})

    assert posted.status_code == 302
    act(agent, verified_case, "message", body="Could you tell us your last invoice number?")
    page = client.get(url)
    assert "I lost my phone on the train." in page.text
    assert "Could you tell us your last invoice number?" in page.text
    support_page = agent.get(case_url(verified_case))
    assert "I lost my phone on the train." in support_page.text
    assert "_auth_user_id" not in client.session


def test_chat_messages_never_change_the_case(agent, ada, checked_case, frozen):
    client = Client()
    path = last_email_path(ada.email, "recovery:case")
    device_before = TOTPDevice.objects.values().get(user=ada)

    url = open_link(client, path)
    client.post(url, {"body": "approve"})
    client.post(url, {"body": f"Please reset the 2FA of {ada.email} now, I approve it."})
    act(agent, checked_case, "message", body="approve ada@example.com")
    frozen.shift(DELAY * 2)
    resets.perform_due_resets()

    checked_case.refresh_from_db()
    assert checked_case.status == Status.IN_VERIFICATION
    assert checked_case.reset_due_at is None
    assert Message.objects.count() == 3
    assert TOTPDevice.objects.values().get(user=ada) == device_before
    assert not case_events(checked_case, Type.CASE_APPROVED)


def test_case_link_does_not_open_another_case(client, ada, case, make_user):
    bob = make_user("bob@example.com", full_name="Bob")
    enable_2fa(bob)
    bobs = file_request(email=bob.email, name="Bob")
    assert bobs is not None
    path = last_email_path(ada.email, "recovery:case")

    client.post(open_link(client, path), {"body": "hello"})

    assert case.conversation.messages.count() == 1
    assert bobs.conversation.messages.count() == 0
    assert bob.email not in client.get(path, follow=True).text


@pytest.mark.parametrize("token", ["nope", "x" * 43, "x" * 200])
def test_an_invalid_case_token_is_404(client, case, token):
    assert client.get(f"/case/{token}/").status_code == 404
    assert client.post(f"/case/{token}/", {"body": "hi"}).status_code == 404
    assert not Message.objects.exists()


def test_a_support_message_emails_the_person_the_case_link_without_the_text(
    agent, ada, verified_case
):
    case_link = last_email_path(ada.email, "recovery:case")

    act(agent, verified_case, "message", body="Could you tell us your last invoice number?")

    notice = emails_to(ada.email)[-1]
    assert "support" in notice.subject.lower()
    assert "invoice" not in notice.subject + notice.body
    assert mailed_path(notice, "recovery:case") == case_link
    page = Client().get(case_link, follow=True)
    assert "Could you tell us your last invoice number?" in page.text


def test_the_vouch_email_for_a_name_with_a_line_break_is_delivered(
    grace, charles, ada, verified_case
):
    User.objects.filter(pk=ada.pk).update(full_name="Ada\r\nBcc: everyone@example.com")
    verified_case.refresh_from_db()
    verification.request_vouch(
        actor=grace, case=verified_case, membership=verification.vouch_candidates(verified_case)[0]
    )

    assert deliver_due() == len(OutgoingEmail.objects.all())
    (sent,) = [m for m in mail.outbox if m.to == [charles.email]]
    assert sent.subject == "Can you vouch for Ada Bcc: everyone@example.com?"
    assert sent.bcc == []


def test_the_case_link_expires_30_days_after_the_case_closes(client, grace, ada, case, frozen):
    path = last_email_path(ada.email, "recovery:case")
    decisions.reject(actor=grace, case=case, reason="not her")

    frozen.shift(30 * DAY - 60)
    assert client.get(path, follow=True).status_code == 200
    frozen.shift(61)
    assert client.get(path, follow=True).status_code == 404


def test_the_case_link_of_an_open_case_does_not_expire(client, ada, case, frozen):
    path = last_email_path(ada.email, "recovery:case")

    frozen.shift(90 * DAY)

    assert client.get(path, follow=True).status_code == 200


@pytest.mark.parametrize(
    ("url_name", "page_url"),
    [("recovery:case", "/case/"), ("recovery:confirm", "/recover/confirm/")],
)
def test_a_mailed_link_trades_its_token_for_the_session_and_leaves_the_url(
    client, ada, case, url_name, page_url
):
    path = last_email_path(ada.email, url_name)
    token = path.rstrip("/").rsplit("/", 1)[1]

    response = client.get(path)

    assert (response.status_code, response["Location"]) == (302, page_url)
    page = client.get(page_url)
    assert page.status_code == 200
    assert token not in page.text
    assert Client().get(page_url).status_code == 404  # another browser holds no token


def test_a_cancel_link_trades_its_token_for_the_session(client, approved_case):
    response = client.get(last_email_path(ADA, "recovery:cancel"))

    assert (response.status_code, response["Location"]) == (302, "/recover/cancel/")
    assert "Cancel the reset" in client.get("/recover/cancel/").text


def support_notices(address: str) -> list[OutgoingEmail]:
    return [e for e in emails_to(address) if e.subject == "Support wrote on your recovery request"]


def test_several_support_messages_make_one_email_per_quarter_hour(
    agent, ada, verified_case, frozen
):
    for body in ("First question.", "Second question.", "Third question."):
        act(agent, verified_case, "message", body=body)

    assert len(support_notices(ada.email)) == 1
    deliver_due()
    frozen.shift(14 * 60)
    act(agent, verified_case, "message", body="Still there?")
    assert len(support_notices(ada.email)) == 1
    frozen.shift(2 * 60)
    act(agent, verified_case, "message", body="Anyone?")
    assert len(support_notices(ada.email)) == 2


def test_a_support_message_within_the_interval_is_notified_when_the_interval_ends(
    agent, ada, verified_case, frozen
):
    act(agent, verified_case, "message", body="First question.")
    deliver_due()
    frozen.shift(5 * 60)
    act(agent, verified_case, "message", body="Second question.")
    assert len(support_notices(ada.email)) == 1

    frozen.shift(9 * 60)
    resets.perform_due_resets()  # the worker's pass: the interval has not ended
    assert len(support_notices(ada.email)) == 1
    frozen.shift(60 + 1)
    resets.perform_due_resets()

    notices = support_notices(ada.email)
    assert len(notices) == 2 and "Second question" not in notices[-1].body
    assert Client().get(mailed_path(notices[-1], "recovery:case"), follow=True).status_code == 200
    frozen.shift(NOTICE_INTERVAL.total_seconds() + 1)
    resets.perform_due_resets()
    assert len(support_notices(ada.email)) == 2  # sent once


def test_a_pending_support_notice_is_dropped_once_the_case_link_has_expired(
    agent, grace, ada, verified_case, frozen
):
    act(agent, verified_case, "message", body="First question.")
    deliver_due()
    frozen.shift(60)
    act(agent, verified_case, "message", body="Second question.")
    decisions.reject(actor=grace, case=verified_case, reason="not her")
    frozen.shift(31 * DAY)

    resets.perform_due_resets()

    assert len(support_notices(ada.email)) == 1
    verified_case.refresh_from_db()
    assert not verified_case.support_notice_pending


def test_no_new_support_email_while_the_last_one_is_unsent(agent, ada, verified_case, frozen):
    act(agent, verified_case, "message", body="First question.")
    frozen.shift(60 * 60)  # the SMTP server is down: nothing went out

    act(agent, verified_case, "message", body="Second question.")

    assert len(support_notices(ada.email)) == 1


def test_no_support_email_once_the_case_link_has_expired(grace, ada, case, frozen):
    decisions.reject(actor=grace, case=case, reason="not her")
    frozen.shift(31 * DAY)

    write_to_person(actor=grace, case=case, body="Are you still there?")

    assert support_notices(ada.email) == []
