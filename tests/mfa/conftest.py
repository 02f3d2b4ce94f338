"""Fixtures for the authenticator factor: an active device at NOW and real login steps."""

import functools
import random
from datetime import datetime

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD, SECRET, enable_2fa
from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mfa import totp
from twostep.mfa.models import TOTPDevice


@functools.cache
def hashed(password: str) -> str:
    return make_password(password)


@pytest.fixture
def make_user(db):
    """tests/conftest.py's factory, hashing each password once per run: real Argon2 hashes
    (logins still verify them), without 0.1 s of hashing for every user a test creates."""

    def make(email="ada@example.com", full_name="Ada Lovelace", password=PASSWORD, **fields):
        user = User.objects.create_user(email, None, full_name=full_name, **fields)
        user.password = hashed(password)
        user.save(update_fields=["password"])
        return user

    return make


@pytest.fixture
def device(user, frozen) -> TOTPDevice:
    """Ada's active authenticator holding SECRET, time frozen at NOW."""
    return enable_2fa(user)


def wrong_code(secret: bytes = SECRET, when: datetime | None = None) -> str:
    """A well-formed code that no step within the drift reach of `when` produces."""
    step = totp.time_step((when or timezone.now()).timestamp())
    near = {totp.hotp(secret, s) for s in range(step - 20, step + 21)}
    # Not "000000" and the like, which also occur inside timestamps.
    candidates = (f"{random.Random(step + n).randrange(10**6):06d}" for n in range(100))
    return next(code for code in candidates if code not in near)


def submit_password(client, email: str = "ada@example.com", password: str = PASSWORD):
    return client.post(reverse("accounts:login"), {"email": email, "password": password})


@pytest.fixture
def pending_client(client, device):
    """A client that passed the password step of Ada's account and now needs a code."""
    response = submit_password(client)
    assert response.status_code == 302 and response.url == reverse("mfa:login_code")
    return client


def submit_code(client, code: str):
    return client.post(reverse("mfa:login_code"), {"code": code})


def events(user, type: str) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(subject=user, type=type).order_by("id"))


def emails(user, subject: str) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(to=user.email, subject=subject))


def reload(device: TOTPDevice) -> TOTPDevice:
    return TOTPDevice.objects.get(pk=device.pk)
