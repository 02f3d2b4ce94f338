from typing import Any, cast

import segno
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from twostep.accounts.confirmation import ConfirmItsYouMixin
from twostep.accounts.models import User

from . import enrolment, totp
from .factors import pending_device, second_factor_on
from .forms import CodeForm, DisableForm
from .models import TOTPDevice
from .session import grant_first_recovery_codes

ENROLMENT_SESSION_KEY = "twostep_enrolment"


class EnableView(LoginRequiredMixin, ConfirmItsYouMixin, View):
    """POST from Settings, after a recent confirmation: a fresh secret each time, then the
    set-up page."""

    confirm_return_to = "accounts:settings"
    confirm_purpose = "mfa:enable"  # Settings does not say it: "to set up an authenticator app"

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            device = enrolment.start_enrolment(user=cast(User, request.user), request=request)
        except enrolment.AlreadyEnabled:
            messages.info(request, gettext("Two-factor authentication is already on."))
            return redirect("accounts:settings")
        # Only this session may see the new secret: another session with the password
        # (an intruder's, maybe) must not copy it before it starts protecting the account.
        request.session[ENROLMENT_SESSION_KEY] = device.pk
        return redirect("mfa:setup")


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
class SetupView(LoginRequiredMixin, ConfirmItsYouMixin, FormView):
    """Shows the QR code and key of the pending secret; a correct code activates it (still
    within a confirmation: the app is a factor being added)."""

    template_name = "mfa/setup.html"
    form_class = CodeForm
    device: TOTPDevice

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        device = pending_device(cast(User, request.user))
        if device is None or request.session.get(ENROLMENT_SESSION_KEY) != device.pk:
            return redirect("accounts:settings")
        self.device = device
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        secret = self.device.secret()
        uri = self.device.provisioning_uri()
        qr = segno.make(uri, error="m").svg_inline(
            scale=5, border=2, omitsize=False, title=gettext("QR code for your authenticator app")
        )
        return super().get_context_data(
            qr_svg=qr,
            otpauth_uri=uri,
            manual_key=totp.grouped(totp.encode_secret(secret)),
            **kwargs,
        )

    def form_valid(self, form: CodeForm) -> HttpResponse:
        check = enrolment.confirm_enrolment(
            device=self.device, code=form.cleaned_data["code"], request=self.request
        )
        if not check.accepted:
            form.add_error("code", check.message)
            return self.form_invalid(form)
        # The session stays as its login made it: proving a factor it set up itself shows
        # only that it holds the password, so staff pages wait for a login with the code.
        # Its confirmation still holds: within it the session may add a key too.
        if not check.first:  # the app joined keys that already protect the account
            messages.success(self.request, gettext("Your authenticator app was added."))
            return redirect("accounts:settings")
        messages.success(self.request, gettext("Two-factor authentication is now active."))
        # 2FA was just turned on by this POST: its first recovery codes come next, issued
        # once by the page this grant lets through (a GET alone issues none).
        grant_first_recovery_codes(self.request.session, user=cast(User, self.request.user))
        return redirect("mfa:recovery_codes")


class DisableView(LoginRequiredMixin, ConfirmItsYouMixin, FormView):
    """Turning 2FA off, after a recent confirmation (which proved the password and a second
    factor): the warning and a tick, no further code."""

    template_name = "mfa/disable.html"
    form_class = DisableForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not second_factor_on(cast(User, request.user)):
            return redirect("accounts:settings")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: DisableForm) -> HttpResponse:
        enrolment.turn_off(user=cast(User, self.request.user), request=self.request)
        messages.success(self.request, gettext("Two-factor authentication is now off."))
        return redirect("accounts:settings")
