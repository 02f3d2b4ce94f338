"""The shared `make_user`, cheaper: the Argon2 hash of the shared PASSWORD is computed
once per run instead of once per user (each costs ~0.1 s). Logins still verify it."""

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password

from tests.conftest import PASSWORD
from twostep.accounts.models import User

_hashes: dict[tuple[str, str], str] = {}


@pytest.fixture
def make_user(db):
    def make(email="ada@example.com", full_name="Ada Lovelace", password=PASSWORD, **fields):
        user = User.objects.create_user(email, None, full_name=full_name, **fields)
        if password is not None:
            key = (password, settings.PASSWORD_HASHERS[0])  # a test may pick another hasher
            if key not in _hashes:
                _hashes[key] = make_password(password)
            user.password = _hashes[key]
            user.save(update_fields=["password"])
        return user

    return make
