from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.utils.functional import SimpleLazyObject

from .backends import preloaded_user


def get_user(request):
    """Django's auth.get_user (session hash check included), fed the user that the session
    store loaded in the same query as the session."""
    if not hasattr(request, "_cached_user"):
        session = request.session
        session.get(auth.SESSION_KEY)  # loads the session row, its user and authenticator
        token = preloaded_user.set(getattr(session, "loaded_user", None))
        try:
            request._cached_user = auth.get_user(request)
        finally:
            preloaded_user.reset(token)
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthentication):
    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))
