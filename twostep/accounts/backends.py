import secrets
from functools import cache

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password, make_password

from .models import User
from .session_engine import PreloadedUserBackend


@cache
def _dummy_hash(hasher: str) -> str:
    """A hash of nothing anyone knows, made once per process with the current hasher."""
    return make_password(secrets.token_urlsafe(32))


class EmailBackend(PreloadedUserBackend, ModelBackend):
    """Django's ModelBackend (email is the username), taking the session's user from the
    session query when it is there."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        """The user for this email and password, or None.

        An unknown email, or an account without a usable password (which Django refuses
        without hashing), is checked against a dummy hash: the hasher does the same work (one
        verification with the same parameters) as for a known email with a wrong password,
        so the time taken does not tell whether the account exists.
        """
        if username is None or password is None:
            return None
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            user = None
        if user is None or not user.has_usable_password():
            check_password(password, _dummy_hash(settings.PASSWORD_HASHERS[0]))
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
