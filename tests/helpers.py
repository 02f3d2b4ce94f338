"""What every test package shares: people in the real database, their authenticator,
and logging in through the real views as a browser does."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from twostep.accounts.confirmation import mark_confirmed
from twostep.accounts.models import User
from twostep.mfa import crypto, recovery_codes, totp
from twostep.mfa.factors import recount_methods
from twostep.mfa.models import MfaState, TOTPDevice
from twostep.mfa.session import SESSION_MFA_VERIFIED
from twostep.organizations.models import Membership, Organization

ADA = "ada@example.com"
PASSWORD = "correct horse battery staple"
# RFC 6238 Appendix B's SHA1 secret: known codes at known times.
SECRET = b"12345678901234567890"
# A fixed instant in the middle of a 30-second step (step 59_000_000).
NOW = datetime.fromtimestamp(59_000_000 * 30 + 15, tz=UTC)
LOGIN = "/login/"
CODE = "/login/code/"
# TWOSTEP_SITE_URL in the tests that read mailed links: not the test client's host, so
# they prove links follow the setting.
SITE = "https://twostep.example"
# The two authentication middlewares TWOSTEP_FAST_SESSIONS chooses between.
FAST_MIDDLEWARE = "twostep.accounts.session_engine.AuthenticationMiddleware"
DJANGO_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """The same algorithm and code path at a fraction of the cost."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1


# For tests about counting failures, not about hashing (settings.PASSWORD_HASHERS).
CHEAP_HASHER = f"{__name__}.CheapArgon2PasswordHasher"

_hashes: dict[tuple[str | None, str], str] = {}


def hashed(password: str | None) -> str:
    """A real hash of `password` by the first hasher in settings, computed once per run and
    hasher (an Argon2 hash costs ~0.1 s). Logins still verify it; None gives an unusable one."""
    key = (password, settings.PASSWORD_HASHERS[0])  # a test may pick another hasher
    if key not in _hashes:
        _hashes[key] = make_password(password)
    return _hashes[key]


def create_user(
    email: str = ADA, full_name: str = "Ada Lovelace", password: str | None = PASSWORD, **fields
) -> User:
    """A user whose password is `password` (None: none usable), hashed as `hashed` does."""
    user = User.objects.create_user(email, None, full_name=full_name, **fields)
    if password is not None:
        user.password = hashed(password)
        user.save(update_fields=["password"])
    return user


def enable_2fa(user: User, secret: bytes = SECRET) -> TOTPDevice:
    """Give `user` an active authenticator holding `secret` (2FA on: one method)."""
    with transaction.atomic():
        device = TOTPDevice.objects.create(
            user=user,
            encrypted_secret=crypto.encrypt(secret),
            confirmed_at=timezone.now(),
            created_at=timezone.now(),
        )
        recount_methods(user)
    return device


def give_recovery_codes(user: User) -> list[str]:
    """A fresh set of recovery codes for `user` (2FA must be on); the codes in clear."""
    codes = recovery_codes.issue(user, request=None)
    assert codes is not None
    return codes


def mfa_state(user: User) -> MfaState:
    """The account's MfaState as stored now (methods and the second step's throttle)."""
    return MfaState.objects.get(user=user)


def code_for(secret: bytes = SECRET, when: datetime | None = None, *, steps: int = 0) -> str:
    """The code an authenticator app shows at `when` (default: now) shifted by `steps`."""
    moment = (when or timezone.now()).timestamp() + steps * totp.PERIOD
    return totp.code_at(secret, moment)


def add_membership(user: User, org_name: str, role: str = "member") -> Membership:
    org, _ = Organization.objects.get_or_create(name=org_name)
    return Membership.objects.create(user=user, organization=org, role=role)


def submit_password(client: Client, email: str = ADA, password: str = PASSWORD, **extra):
    """POST the login form. `extra` may hold `next` (form data) or WSGI keys like REMOTE_ADDR."""
    data = {"email": email, "password": password}
    if "next" in extra:
        data["next"] = extra.pop("next")
    return client.post(LOGIN, data, **extra)


def submit_code(client: Client, code: str, *, remember: bool = False):
    """POST the second login step's app code form (the app's section even when the account
    has keys), with "Don't ask for a code on this browser" ticked when `remember`."""
    data = {"code": code, **({"remember": "1"} if remember else {})}
    return client.post(f"{CODE}?method=app", data)


def log_in(
    client: Client,
    user: User,
    *,
    password: str = PASSWORD,
    secret: bytes = SECRET,
    steps: int = 0,
    remember: bool = False,
    **extra,
) -> HttpResponse:
    """Both real login steps, the code (`steps` ahead of the clock, "Don't ask for a code
    on this browser" ticked when `remember`) only when 2FA is on and the browser is not
    remembered; `extra` as for `submit_password`. Returns the last response."""
    response = submit_password(client, user.email, password, **extra)
    assert response.status_code == 302, "the password step failed"
    if response["Location"] == reverse("login:code"):
        response = submit_code(client, code_for(secret, steps=steps), remember=remember)
        assert response.status_code == 302, response.content
    assert client.session.get("_auth_user_id") == str(user.pk), "the login did not complete"
    return response


def remembered_browser(user: User, **headers) -> Client:
    """A browser (with `headers`, e.g. HTTP_USER_AGENT) that logged in to `user` with its app
    code and "Don't ask for a code on this browser" ticked, then logged out."""
    client = Client(**headers)
    log_in(client, user, remember=True)
    client.post("/logout/")
    assert "_auth_user_id" not in client.session
    return client


def verified_session(client: Client, user: User) -> Client:
    """What `log_in` leaves behind (a login whose session passed 2FA, so confirmed it's
    them for the next 10 minutes), without hashing. It only counts as verified while the
    user's 2FA is on (give them a device)."""
    client.force_login(user)
    session = client.session
    session[SESSION_MFA_VERIFIED] = True
    mark_confirmed(session, factor=True)
    session.save()
    return client


def confirmed_session(client: Client, user: User) -> Client:
    """A login that confirmed it's them just now (as `log_in` leaves one), without hashing:
    the gated actions (accounts.confirmation) go ahead for 10 minutes."""
    client.force_login(user)
    return confirm_again(client)


def confirm_again(client: Client) -> Client:
    """What the confirmation page does for this logged-in client (tests/login/test_confirm.py
    goes through the page itself): the window opens anew from now."""
    session = client.session
    mark_confirmed(session, factor=True)
    session.save()
    return client


def client_with_session(data: dict) -> Client:
    """A fresh client holding a new session with a copy of `data` (no password hashing)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store.update(data)
    store.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return client


def error_text(response) -> str:
    """The form's errors as shown on the page."""
    form = response.context["form"]
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def start_django(**env: str) -> subprocess.CompletedProcess[str]:
    """`django.setup()` in a fresh interpreter with our settings and `env` added to the
    environment: how a setting refused at startup is seen (exit code 1, the reason in
    stderr)."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "twostep.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )
