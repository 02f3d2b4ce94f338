"""Who may use the support console: active staff whose session passed the second factor."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from twostep.mfa.session import verified_with_second_factor


def is_support_agent(request) -> bool:
    return request.user.is_staff and verified_with_second_factor(request)


def support_required(view):
    """Anonymous visitors go to the login page; anyone else who is not an agent gets 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_support_agent(request):
            raise PermissionDenied("The support console needs a staff login with 2FA.")
        return view(request, *args, **kwargs)

    return wrapper


def mfa_login_required(view):
    """A logged-in person whose session passed the second factor (e.g. a vouching manager)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not verified_with_second_factor(request):
            raise PermissionDenied("This page needs a login with two-factor authentication.")
        return view(request, *args, **kwargs)

    return wrapper
