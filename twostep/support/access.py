"""Who may use the support console: active staff whose session passed the second factor."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from twostep.mfa.session import verified_with_second_factor

View = Callable[..., HttpResponse]


def is_support_agent(request: HttpRequest) -> bool:
    return request.user.is_staff and verified_with_second_factor(request)


def support_required(view: View) -> View:
    """Anonymous visitors go to the login page; anyone else who is not an agent gets 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_support_agent(request):
            raise PermissionDenied("The support console needs a staff login with 2FA.")
        return view(request, *args, **kwargs)

    return wrapper
