"""Every URL that accepts a POST either asks 'confirm it's you' once the window has closed,
or is named below with why it need not: a new action added without the gate fails here.

The walk posts as a staff superuser with 2FA (so the support console and the admin answer),
logged in with the second factor more than 10 minutes ago, a fresh session for each URL
(one of them logs out)."""

import time

from django.test import Client

from tests.accounts.url_patterns import every_url
from tests.helpers import enable_2fa, verified_session
from twostep.accounts.confirmation import CONFIRMED_AT

WINDOW = 600

# Accept a POST without the gate, and why.
UNGATED = {
    "accounts:home": "a redirect",
    "accounts:health": "the health check",
    "accounts:signup": "no account yet",
    "accounts:signup_confirm": "a link from the sign-up email",
    "accounts:password_reset": "for who cannot log in; the token link proves the mailbox",
    "accounts:password_reset_confirm": "the reset link from the email proves the mailbox",
    "accounts:email_change_confirm": "the new address's link, after a confirmed change",
    "accounts:not_me": "the new-browser email's link: it only signs out and protects",
    "login:login": "logging in opens the window",
    "login:code": "the login's second step",
    "login:help": "a redirect to recovery",
    "login:key_options": "the login's second step with a key",
    "login:key": "the login's second step with a key",
    "login:passkey_options": "a passwordless login",
    "login:passkey": "a passwordless login",
    "login:confirm": "the confirmation page itself",
    "login:confirm_key_options": "the confirmation page's key",
    "login:confirm_key": "the confirmation page's key",
    "login:reenable": "after a recovery, back to set 2FA up (which is gated)",
    "login:logout": "logging out locks nobody out",
    "login:session_status": "the session's state for scripts",
    "mfa:recovery_codes": "shows the codes a gated action granted, once",
    "mfa:recovery_codes_saved": "the person says they saved them",
    "mfa:key_rename": "a key's name protects nothing (not in issue 10's list)",
    "recovery:request": "for who cannot log in",
    "recovery:sent": "for who cannot log in",
    "recovery:confirm_page": "the mailbox's answer to a recovery case",
    "recovery:confirm": "the mailbox's answer to a recovery case",
    "recovery:cancel_page": "the owner cancels a reset: protective",
    "recovery:cancel": "the owner cancels a reset: protective",
    "recovery:cancel_pending": "the owner cancels a reset: protective",
    "recovery:case_page": "the person's own recovery case",
    "recovery:case_messages": "the person's own recovery case",
    "recovery:case": "the person's own recovery case",
    "recovery:email_change_cancel": "the old address cancels an email change: protective",
    "chat:help": "writing to support",
    "support:queue": "reading the queue",
    "support:case_detail": "reading a case",
    "support:case_messages": "a case's chat",
    "support:failed_emails": "reading failed emails",
    "support:resend_email": "re-sending an email decides nothing",
    "support:conversation": "a chat with a person",
    "support:open_case": "opening a case decides nothing",
    "admin:login": "the admin's login page sends to the site's",
    "admin:logout": "logging out locks nobody out",
}
# Gated, but only once their object is found: the walk's dummy ids find none (each gate is
# proven in tests/login/test_confirm_gate.py and tests/recovery/test_confirm_decisions.py).
GATED_AFTER_LOOKUP = {
    "mfa:setup": "an app being set up (this account has none pending)",
    "mfa:key_remove": "one of the account's keys",
    "recovery:vouch": "the manager's vouch request",
    "support:case_action": "the case and the action (decisions only: actions.DECISIONS)",
}


def asks_to_confirm(response) -> bool:
    location = response.get("Location", "")
    if response.status_code == 302:
        return location.startswith("/confirm/?next=")
    if response.status_code == 403 and response.get("Content-Type") == "application/json":
        return response.json().get("redirect", "").startswith("/confirm/?next=")
    return False


def late_session(user) -> Client:
    client = verified_session(Client(), user)
    session = client.session
    session[CONFIRMED_AT] = time.time() - WINDOW - 1
    session.save()
    return client


def test_every_post_is_gated_or_allowed_by_name(make_user, frozen):
    sam = make_user("sam@example.com", "Sam Support", is_staff=True, is_superuser=True)
    enable_2fa(sam)
    seen, gated, ungated = set(), set(), []
    for url in every_url(dummy=str(sam.pk)):
        seen.add(url.name)
        response = late_session(sam).post(url.path, {})
        if response.status_code == 405:
            continue  # takes no POST
        if asks_to_confirm(response):
            gated.add(url.name)
        elif url.name not in UNGATED and url.name not in GATED_AFTER_LOOKUP:
            ungated.append(f"{url} answered {response.status_code} without the gate")
    assert ungated == []
    assert not (set(UNGATED) | set(GATED_AFTER_LOOKUP)) - seen, "the lists name a URL gone"
    assert not set(UNGATED) & gated, "a URL allowed without the gate is gated: drop it"
    assert {"mfa:disable", "accounts:password_change", "admin:mfa_mfastate_changelist"} <= gated
