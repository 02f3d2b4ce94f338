from contextvars import ContextVar
from typing import Any

from django.contrib.auth.backends import ModelBackend

# The user fetched together with the session row, offered to get_user() for one request.
preloaded_user: ContextVar[Any] = ContextVar("preloaded_user", default=None)


class EmailBackend(ModelBackend):
    """Django's ModelBackend (email is the username; the hasher also runs for unknown
    emails), taking the session's user from the session query when it is there."""

    def get_user(self, user_id):
        user = preloaded_user.get()
        if user is not None and user.pk == user_id:
            return user if self.user_can_authenticate(user) else None
        return super().get_user(user_id)
