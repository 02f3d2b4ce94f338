"""Pages of a recovery case for a logged-in person (a vouching manager): only a session
that passed the second factor opens them."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from twostep.mfa.session import verified_with_second_factor

View = Callable[..., HttpResponse]


def mfa_login_required(view: View) -> View:
    """A logged-in person whose session passed the second factor (e.g. a vouching manager)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not verified_with_second_factor(request):
            raise PermissionDenied("This page needs a login with two-factor authentication.")
        return view(request, *args, **kwargs)

    return wrapper
