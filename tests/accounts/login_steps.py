"""Logging in through the real views, as a browser does; used by several test folders."""

from importlib import import_module

from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, SECRET, code_for

LOGIN = "/login/"
CODE = "/login/code/"


def submit_password(client: Client, email: str, password: str = PASSWORD, **extra):
    """POST the login form. `extra` may hold `next` (form data) or WSGI keys like REMOTE_ADDR."""
    data = {"email": email, "password": password}
    if "next" in extra:
        data["next"] = extra.pop("next")
    return client.post(LOGIN, data, **extra)


def log_in(client: Client, user, *, password: str = PASSWORD, secret: bytes = SECRET, **extra):
    """Both login steps (the code only when 2FA is on). Returns the last response."""
    response = submit_password(client, user.email, password, **extra)
    if response.status_code == 302 and response["Location"] == reverse("mfa:login_code"):
        response = client.post(CODE, {"code": code_for(secret)})
    assert response.status_code == 302, "the login did not complete"
    assert "_auth_user_id" in client.session
    return response


def error_text(response) -> str:
    """The form's errors as shown on the page."""
    form = response.context["form"]
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def client_with_session(data: dict) -> Client:
    """A fresh client holding a new session with a copy of `data` (no password hashing)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store.update(data)
    store.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return client
