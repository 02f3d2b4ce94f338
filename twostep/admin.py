from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from twostep.accounts.confirmation import confirm_required
from twostep.mfa.session import verified_with_second_factor

AdminView = TypeVar("AdminView", bound=Callable[..., Any])


class TwostepAdminSite(admin.AdminSite):
    """The Django admin, open only to active staff who logged in with their second factor."""

    site_header = "twostep administration"
    site_title = "twostep admin"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and verified_with_second_factor(request)

    def admin_view(self, view: AdminView, cacheable: bool = False) -> AdminView:
        """Every change made here (a POST, logging out aside) first needs a recent "confirm
        it's you": the admin changes other people's accounts."""

        @wraps(view)
        def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if (
                request.method == "POST"
                and self.has_permission(request)
                and request.path != reverse("admin:logout", current_app=self.name)
            ):
                asked = confirm_required(request)
                if asked is not None:
                    return asked
            return view(request, *args, **kwargs)

        return super().admin_view(cast(AdminView, gated), cacheable)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated and request.user.is_staff:
            # Staff without a verified second factor: they must turn 2FA on and log in again.
            messages.warning(
                request,
                "The administration requires a login with two-factor authentication. "
                "Turn it on in Settings, then log out and in again.",
            )
            return redirect("accounts:settings")
        if request.user.is_authenticated:
            # Not staff. Sending them to the login page would bounce them straight back
            # here (they are logged in): an endless redirect.
            messages.error(request, "The administration is open to staff only.")
            return redirect("accounts:profile")
        target = request.GET.get("next", reverse("admin:index"))
        return redirect(f"{reverse('login:login')}?{urlencode({'next': target})}")
