from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from twostep.audit.services import describe_browser, recent_for

from . import devices, resets, services, signups
from .confirmation import ConfirmItsYouMixin
from .forms import SignupForm
from .models import User
from .session_offer import take_offer
from .settings_sections import sections
from .tokens import signup_tokens


def safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def home(request: HttpRequest) -> HttpResponse:
    return redirect("accounts:profile" if request.user.is_authenticated else settings.LOGIN_URL)


class ProfileView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/profile.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = cast(User, self.request.user)
        memberships = user.memberships.select_related("organization")
        return super().get_context_data(memberships=memberships, **kwargs)


class SettingsView(LoginRequiredMixin, TemplateView):
    """Settings: the sections other apps add (settings_sections: two-factor authentication),
    the password and the recent security activity."""

    template_name = "accounts/settings.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = cast(User, self.request.user)
        events = [(event, describe_browser(event.user_agent)) for event in recent_for(user)]
        end_others = take_offer(self.request, user)
        return super().get_context_data(
            sections=sections(), events=events, end_others_offer=end_others, **kwargs
        )


@method_decorator(sensitive_post_parameters(), name="dispatch")
class PasswordChangeView(ConfirmItsYouMixin, auth_views.PasswordChangeView):
    """Changing the password, after a recent "confirm it's you" (no field is kept: the
    form holds only passwords). Its own dispatch hides every field from error reports, as
    Django's does, but before the gate too."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            ended = services.record_password_change(
                request=self.request, user=form.user, by_reset=False
            )
        messages.success(self.request, "Your password has been changed.")
        if ended:
            messages.info(
                self.request,
                ngettext(
                    "You are logged out everywhere else (%(count)d other session).",
                    "You are logged out everywhere else (%(count)d other sessions).",
                    ended,
                )
                % {"count": ended},
            )
        devices.set_cookie(request=self.request, response=response)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        resets.request_password_reset(request=self.request, email=form.cleaned_data["email"])
        return redirect(self.success_url)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        per_hour = settings.TWOSTEP_EMAIL_PER_ADDRESS_HOUR
        return super().get_context_data(per_hour=per_hour, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Sets a new password and never logs in: the next login still asks for the code."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    post_reset_login = False

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            services.record_password_change(request=self.request, user=form.user, by_reset=True)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@method_decorator(sensitive_post_parameters("password1", "password2"), name="dispatch")
class SignupView(FormView):
    template_name = "accounts/signup.html"
    form_class = SignupForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.TWOSTEP_SIGNUP:
            return render(request, "accounts/signup_closed.html", status=404)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: SignupForm) -> HttpResponse:
        data = form.cleaned_data
        signups.signup(
            request=self.request,
            email=data["email"],
            full_name=data["full_name"],
            password=data["password1"],
        )
        context = {"email": data["email"], "per_hour": settings.TWOSTEP_EMAIL_PER_ADDRESS_HOUR}
        return render(self.request, "accounts/signup_sent.html", context)


class SignupConfirmView(View):
    """The emailed link shows a button; only the POST activates, so that mail scanners that
    open links do not confirm an address (and pre-hijack the account) on their own."""

    def pending_user(self, uidb64: str, token: str) -> User | None:
        if not settings.TWOSTEP_SIGNUP:
            raise Http404
        try:
            pk = int(force_str(urlsafe_base64_decode(uidb64)))
        except (TypeError, ValueError, OverflowError):
            pk = None
        user = get_user_model().objects.filter(pk=pk).first() if pk else None
        if (
            user is None
            or not signup_tokens.check_token(user, token)
            or not signups.awaiting_confirmation(user)
        ):
            return None
        return cast(User, user)

    def get(self, request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
        user = self.pending_user(uidb64, token)
        if user is None:
            return render(request, "accounts/signup_invalid.html", status=400)
        return render(request, "accounts/signup_confirm.html", {"email": user.email})

    def post(self, request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
        user = self.pending_user(uidb64, token)
        if user is None or not signups.confirm_signup(request=request, user=user):
            return render(request, "accounts/signup_invalid.html", status=400)
        messages.success(request, "Your email address is confirmed. You can log in now.")
        return redirect("login:login")


def health(request: HttpRequest) -> HttpResponse:
    """For load balancers: the process answers. Touches neither the session nor the database."""
    return HttpResponse("ok", content_type="text/plain")
