"""The security event log: append-only, and written in the transaction of its change."""

import pytest
from django.contrib import admin
from django.contrib.auth.hashers import check_password
from django.test import Client

from tests.helpers import PASSWORD, confirmed_session
from twostep.accounts import services as account_services
from twostep.accounts import signups
from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.models import OutgoingEmail


@pytest.fixture
def event(user, rf):
    request = rf.get("/", REMOTE_ADDR="192.0.2.9", HTTP_USER_AGENT="x" * 400)
    return record(type=SecurityEvent.Type.LOGIN, subject=user, request=request, second_factor=True)


def test_record_names_actor_subject_ip_and_browser(event, user):
    stored = SecurityEvent.objects.get()
    assert (stored.subject, stored.actor, stored.ip) == (user, user, "192.0.2.9")
    assert stored.user_agent == "x" * 300  # cut to the column
    assert stored.details == {"second_factor": True}


def test_an_actor_other_than_the_subject_is_kept(user, make_user):
    agent = make_user("sam@example.com", "Sam Support", is_staff=True)

    stored = record(type=SecurityEvent.Type.MFA_UNLOCKED, subject=user, actor=agent)

    assert (stored.subject, stored.actor) == (user, agent)


def test_saving_an_existing_event_again_is_refused(event):
    event.type = SecurityEvent.Type.LOGOUT

    with pytest.raises(ValueError, match="append-only"):
        event.save()
    assert SecurityEvent.objects.get().type == "login"


def test_deleting_an_event_is_refused(event):
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert SecurityEvent.objects.count() == 1


def test_bulk_update_and_bulk_delete_are_refused(event):
    with pytest.raises(ValueError, match="append-only"):
        SecurityEvent.objects.filter(pk=event.pk).update(ip="10.0.0.1")
    with pytest.raises(ValueError, match="append-only"):
        SecurityEvent.objects.all().delete()
    assert SecurityEvent.objects.get().ip == "192.0.2.9"


def test_deleting_a_user_keeps_their_events(event, user):
    user.delete()

    stored = SecurityEvent.objects.get()
    assert (stored.subject, stored.actor, stored.type) == (None, None, "login")


def test_a_failure_after_a_password_change_rolls_back_the_change_and_its_event(
    client, user, monkeypatch
):
    # The announcement email cannot be queued (say its template broke): the password
    # change, its audit event and the email all roll back together.
    def broken_queue(**kwargs):
        raise RuntimeError("template missing")

    confirmed_session(client, user)
    monkeypatch.setattr(account_services, "queue_email", broken_queue)
    new = "a brand new passphrase 42"

    with pytest.raises(RuntimeError, match="template missing"):
        client.post(
            "/settings/password/",
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        )

    user.refresh_from_db()
    assert check_password(PASSWORD, user.password)
    assert not SecurityEvent.objects.filter(type="password_changed").exists()
    assert not OutgoingEmail.objects.exists()


def test_a_failure_during_sign_up_leaves_no_account_and_no_event(db, monkeypatch):
    def broken_queue(**kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr(signups, "queue_email", broken_queue)
    data = {
        "full_name": "Grace Hopper",
        "email": "grace@example.com",
        "password1": "nanoseconds and bugs",
        "password2": "nanoseconds and bugs",
    }

    with pytest.raises(RuntimeError):
        Client().post("/signup/", data)

    assert not User.objects.exists()
    assert not SecurityEvent.objects.exists()


def test_the_admin_cannot_add_change_or_delete_events(event, user, rf):
    model_admin = admin.site._registry[SecurityEvent]
    request = rf.get("/admin/")
    request.user = user

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
