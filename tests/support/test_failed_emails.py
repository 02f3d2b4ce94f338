"""Emails that could not be delivered, in the support console: listed without their body,
re-sent by an agent (POST, CSRF, a 2FA login), each re-send a security event."""

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from tests.helpers import NOW, enable_2fa, verified_session
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import ERASED, queue_email

LIST = reverse("support:failed_emails")
ERROR = "ConnectionRefusedError: [Errno 111] Connection refused"


@pytest.fixture
def failed(ada) -> OutgoingEmail:
    """An email to Ada given up after three days of refused connections."""
    email = queue_email(to=ada.email, template="mfa_enabled", context={"user": ada})
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=OutgoingEmail.Status.FAILED, attempts=79, last_error=ERROR
    )
    email.refresh_from_db()
    return email


def resend_url(email: OutgoingEmail) -> str:
    return reverse("support:resend_email", args=[email.pk])


def test_the_console_lists_failed_emails_without_their_body(agent, failed):
    page = agent.get(LIST).content.decode()

    for shown in ("ada@example.com", "Two-factor authentication is now on", "79", ERROR):
        assert shown in page
    assert failed.body.splitlines()[0] not in page  # "Hello Ada Lovelace,"
    assert "is now on for your Bpart account" not in page
    assert resend_url(failed) in page


def test_the_case_queue_counts_the_failed_emails_and_links_to_them(agent, failed):
    page = agent.get(reverse("support:queue")).content.decode()

    assert f'<a href="{LIST}">1 email could not be delivered</a>' in page


def test_an_agent_resends_a_failed_email_and_it_is_recorded(agent, grace, ada, failed):
    response = agent.post(resend_url(failed), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "The email to ada@example.com is queued again." in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.next_attempt_at, failed.attempts) == ("queued", NOW, 79)
    assert failed.body.startswith("Hello Ada Lovelace,")
    (event,) = SecurityEvent.objects.filter(type=SecurityEvent.Type.EMAIL_RESENT)
    assert (event.actor, event.subject) == (grace, ada)
    assert event.details == {
        "email": failed.pk,
        "email_subject": "Two-factor authentication is now on",
        "attempts": 79,
    }


def test_a_second_resend_of_the_same_email_changes_nothing(agent, failed):
    agent.post(resend_url(failed))
    response = agent.post(resend_url(failed), follow=True)

    assert "That email was not waiting to be re-sent." in response.content.decode()
    assert SecurityEvent.objects.filter(type=SecurityEvent.Type.EMAIL_RESENT).count() == 1


def test_resending_needs_a_post_with_the_csrf_token(grace, failed):
    browser = verified_session(Client(enforce_csrf_checks=True), grace)

    assert browser.get(resend_url(failed)).status_code == 405
    assert browser.post(resend_url(failed)).status_code == 403
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_only_agents_see_or_resend_failed_emails(client, make_user, failed, frozen):
    assert client.get(LIST).status_code == 302  # to the login page
    staff_without_2fa = make_user("sam@example.com", is_staff=True)
    client.force_login(staff_without_2fa)
    assert client.get(LIST).status_code == 403
    assert client.post(resend_url(failed)).status_code == 403
    person = make_user("carl@example.com")
    enable_2fa(person)
    verified_session(client, person)
    assert client.get(LIST).status_code == 403
    assert client.post(resend_url(failed)).status_code == 403
    failed.refresh_from_db()
    assert failed.status == "failed"
    assert not SecurityEvent.objects.filter(type=SecurityEvent.Type.EMAIL_RESENT).exists()


def test_an_admin_resends_failed_emails_from_the_admin(client, make_user, failed, frozen):
    admin = make_user("root@example.com", is_staff=True, is_superuser=True)
    enable_2fa(admin)
    verified_session(client, admin)

    response = client.post(
        reverse("admin:mail_outgoingemail_changelist"),
        {"action": "resend", "_selected_action": [failed.pk]},
    )

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.next_attempt_at) == ("queued", NOW)
    (entry,) = LogEntry.objects.filter(object_id=str(failed.pk))
    assert (entry.user, entry.change_message) == (admin, "Re-sent (queued again)")


@pytest.fixture
def erased(failed) -> OutgoingEmail:
    """An email given up by the code before issue 7, which erased the body of failed ones."""
    OutgoingEmail.objects.filter(pk=failed.pk).update(body=ERASED)
    failed.refresh_from_db()
    return failed


def test_an_email_given_up_with_its_body_erased_is_listed_without_a_resend_button(agent, erased):
    page = agent.get(LIST).content.decode()

    assert "ada@example.com" in page
    assert resend_url(erased) not in page
    assert "Its text was erased: it cannot be re-sent." in page


def test_an_email_given_up_with_its_body_erased_is_not_resent_by_console_or_admin(
    agent, client, make_user, erased
):
    agent.post(resend_url(erased))
    admin = make_user("root@example.com", is_staff=True, is_superuser=True)
    enable_2fa(admin)
    verified_session(client, admin)
    client.post(
        reverse("admin:mail_outgoingemail_changelist"),
        {"action": "resend", "_selected_action": [erased.pk]},
    )

    erased.refresh_from_db()
    assert erased.status == "failed"
    assert not SecurityEvent.objects.filter(type=SecurityEvent.Type.EMAIL_RESENT).exists()
    assert not LogEntry.objects.filter(object_id=str(erased.pk)).exists()
