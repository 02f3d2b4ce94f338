"""The login's pages: the password step, the code step and its help, the re-enable
recommendation after a support reset, logout, and the session's status for scripts."""

from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, RedirectView

from twostep.accounts import devices
from twostep.accounts.models import User
from twostep.accounts.views import safe_next
from twostep.mfa.checks import CodeCheck
from twostep.mfa.factors import active_device, second_factor_on, second_factors
from twostep.mfa.forms import CodeForm, RecoveryCodeForm
from twostep.mfa.models import TOTPDevice
from twostep.mfa.recovery_codes import codes_left, verify_recovery_code
from twostep.mfa.session import marked_verified
from twostep.mfa.verification import verify_code

from . import flow, password, pending
from .forms import LoginForm


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class LoginView(FormView):
    template_name = "login/login.html"
    form_class = LoginForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            return redirect(safe_next(request, reverse(settings.LOGIN_REDIRECT_URL)))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(next=safe_next(self.request, ""), **kwargs)

    def form_valid(self, form: LoginForm) -> HttpResponse:
        try:
            user = password.check_password(request=self.request, **form.cleaned_data)
        except password.LoginRefused as refused:
            form.add_error(None, refused.message)
            return self.form_invalid(form)
        next_url = safe_next(self.request, reverse(settings.LOGIN_REDIRECT_URL))
        response: HttpResponse
        if flow.after_password(request=self.request, user=user, next_url=next_url):
            response = redirect("login:code")
        elif user.mfa_reset_at is not None:  # support reset 2FA: recommend turning it on again
            response = redirect(f"{reverse('login:reenable')}?{urlencode({'next': next_url})}")
        else:
            response = redirect(next_url)
        # Trusted only once a login completes from it (with the code, when 2FA is on).
        devices.set_cookie(request=self.request, response=response)
        return response


@method_decorator(sensitive_post_parameters("code", "recovery_code"), name="dispatch")
class LoginCodeView(FormView):
    """The second login step: one section per method the account has, strongest first
    (security key or passkey, app code, recovery code), each a link from the others
    (`?method=`). Serves only a session that passed the password step."""

    template_name = "login/login_code.html"
    user: User
    device: TOTPDevice | None
    method: str
    available: list[str]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = pending.pending_user(request)
        if user is None:
            messages.info(
                request, gettext("Your login expired. Enter your email and password again.")
            )
            return redirect("login:login")
        if not second_factor_on(user):  # 2FA was turned off meanwhile: start over
            pending.clear(request)
            return redirect("login:login")
        self.user, self.device = user, active_device(user)
        self.available = second_step_methods(user, self.device)
        asked = request.GET.get("method", "")
        self.method = asked if asked in self.available else self.available[0]
        return super().dispatch(request, *args, **kwargs)

    def get_form_class(self) -> type[CodeForm | RecoveryCodeForm]:
        return RecoveryCodeForm if self.method == "recovery" else CodeForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        base = reverse("login:code")
        others = [
            (m, f"{base}?{urlencode({'method': m})}") for m in self.available if m != self.method
        ]
        return super().get_context_data(
            method=self.method,
            others=others,
            remember_days=flow.remember_days(user=self.user, method=self.method),
            remember_ticked=bool(self.request.POST.get("remember")),  # kept after a wrong code
            **kwargs,
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.method == "key":  # a key answers at its own address (mfa/webauthn)
            return redirect(request.get_full_path())
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: CodeForm | RecoveryCodeForm) -> HttpResponse:
        check: CodeCheck
        if isinstance(form, RecoveryCodeForm):
            field, code = "recovery_code", form.cleaned_data["recovery_code"]
            check = verify_recovery_code(
                user=self.user, code=code, request=self.request, purpose="login"
            )
        elif self.device is not None:
            field, code = "code", form.cleaned_data["code"]
            check = verify_code(
                device=self.device, code=code, request=self.request, purpose="login"
            )
        else:
            return redirect("login:code")
        if not check.accepted:
            form.add_error(field, check.message)
            return self.form_invalid(form)
        next_url = pending.next_url(self.request) or reverse(settings.LOGIN_REDIRECT_URL)
        pending.clear(self.request)
        flow.complete_login(request=self.request, user=self.user, mfa_verified=True)
        response = redirect(flow.landing(request=self.request, user=self.user, next_url=next_url))
        flow.remember_if_ticked(
            request=self.request, user=self.user, method=self.method, response=response
        )
        return response


def second_step_methods(user: User, device: TOTPDevice | None) -> list[str]:
    """The second step's methods of the account, strongest first, read without a query:
    its second factors (mfa.factors), and a recovery code when the account has a set
    (`recovery_codes_left`, loaded with the pending user)."""
    recovery = codes_left(user) is not None
    return [*second_factors(user, device), *(["recovery"] if recovery else [])]


class LoginHelpView(RedirectView):
    """'Lost access to your authenticator app?': the recovery page, which starts with "Use a
    recovery code" and then offers the support-verified reset (its request form)."""

    pattern_name = "recovery:request"


@login_required
def reenable(request: HttpRequest) -> HttpResponse:
    """After a support reset: strongly recommend turning 2FA on again (skippable)."""
    user = cast(User, request.user)
    next_url = safe_next(request, reverse("accounts:profile"))
    if user.mfa_reset_at is None or second_factor_on(user):
        return redirect(next_url)
    return render(request, "login/reenable.html", {"next": next_url})


class LogoutView(auth_views.LogoutView):
    template_name = "login/logged_out.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        flow.record_logout(request=request)
        return super().post(request, *args, **kwargs)


def session_status(request: HttpRequest) -> JsonResponse:
    """Who is logged in and their 2FA state, for scripts and the front end.

    One database round trip: the session row comes with its user and two-factor state.
    """
    if not request.user.is_authenticated:
        return JsonResponse({"authenticated": False}, status=401)
    user = cast(User, request.user)
    return JsonResponse(
        {
            "authenticated": True,
            "email": user.email,
            "full_name": user.full_name,
            "two_factor": second_factor_on(user),
            "verified_with_two_factor": marked_verified(request.session),
        }
    )
