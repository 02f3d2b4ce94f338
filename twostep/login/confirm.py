"""'Confirm it's you': the page that opens the confirmation window (accounts.confirmation)
before an action that could lock the person out or change another account.

This page asks the password and, when 2FA is on, a second factor: a code from the app, or
a security key or passkey through webauthn.js. It accepts no recovery code and no
remembered browser. (A login opens the window too, with any second factor it proved, a
recovery code included, or a passkey: see accounts.confirmation and login.flow. The page
is for a window that has closed since.) Each proof goes through the login's own
throttles: the password through the password step's (login.password, recorded with
purpose "confirm"), the factor through the second step's shared one (mfa.throttle, which
verify_code and check_key count in, and which emails the owner after a right password and
wrong codes, as at login). The password is checked first: a wrong one leaves the factor
unjudged. Two tabs confirming at once both simply open the window. The page says what it
is for (confirm_purposes) and its Cancel goes back to `next` when that is a page.
"""

from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.generic import FormView

from twostep.accounts.confirmation import mark_confirmed, wants_json
from twostep.accounts.models import User
from twostep.accounts.views import safe_next
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.backoff import wait_duration
from twostep.mfa.factors import active_device, second_factors
from twostep.mfa.forms import form_errors
from twostep.mfa.verification import verify_code
from twostep.mfa.webauthn import assertions, challenges
from twostep.mfa.webauthn.ceremonies import authentication_options
from twostep.recovery.resets import cancel_on_login

from . import password
from .confirm_purposes import cancel_url, purpose
from .forms import ConfirmCodeForm, ConfirmForm


def methods(user: User) -> list[str]:
    """How this account confirms, strongest first: its second factors when 2FA is on (no
    recovery code), "password" alone when it is off."""
    return second_factors(user, active_device(user)) or ["password"]


def check_password(request: HttpRequest, user: User, given: str) -> str | None:
    """Why the password is refused (a message for the person), or None when it is right.
    Counted in the password step's throttle, like a login's."""
    try:
        password.check_password(
            request=request, email=user.email, password=given, purpose="confirm"
        )
    except password.LoginRefused as refused:
        if refused.wait is not None:
            wait = wait_duration(refused.wait.total_seconds())
            return _("Too many failed attempts. Try again in %(wait)s.") % {"wait": wait}
        return _("That is not your password. Try again.")
    return None


def confirm_identity(*, request: HttpRequest, user: User, method: str) -> None:
    """Open the window: the session confirmed it's them just now, recorded. A factor proved
    (the app or a key, not the password alone) opens it "with a factor" and, as a login
    with the factor does, cancels a pending support reset: the owner still holds it."""
    factor = method != "password"
    with transaction.atomic():
        mark_confirmed(request.session, factor=factor)
        record(
            type=SecurityEvent.Type.CONFIRMED_IDENTITY,
            subject=user,
            request=request,
            method=method,
        )
        if factor:
            cancel_on_login(user=user, reason="the owner confirmed it's them with 2FA")


def _done(request: HttpRequest) -> str:
    messages.success(request, _("Thank you. You can go ahead."))
    return safe_next(request, reverse("accounts:settings"))


@method_decorator([never_cache, sensitive_post_parameters("password", "code")], name="dispatch")
class ConfirmView(LoginRequiredMixin, FormView):
    """GET /confirm/?next=…&method=key|app: what this is for and the proofs it needs.
    POST: the password (and the app's code); right, back to `next` (when safe)."""

    template_name = "login/confirm.html"
    user: User
    method: str
    available: list[str]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            self.user = cast(User, request.user)
            self.available = methods(self.user)
            asked = request.GET.get("method", "")
            self.method = asked if asked in self.available else self.available[0]
        return super().dispatch(request, *args, **kwargs)

    def get_form_class(self) -> type[ConfirmForm]:
        return ConfirmCodeForm if self.method == "app" else ConfirmForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        next_url = safe_next(self.request, "")
        named = self.request.GET.get("for", "")[:50]
        settings_url = reverse("accounts:settings")
        base = reverse("login:confirm")
        kept = {"next": next_url, **({"for": named} if named else {})}
        others = [
            (m, f"{base}?{urlencode({'method': m, **kept})}")
            for m in self.available
            if m != self.method
        ]
        return super().get_context_data(
            method=self.method,
            others=others,
            next=next_url,
            purpose=purpose(next_url, named),
            cancel=cancel_url(next_url, settings_url),
            only_keys=self.available == ["key"],
            minutes=settings.TWOSTEP_REAUTH_SECONDS // 60,
            **kwargs,
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.method == "key":  # a key answers at its own address (confirm_key)
            return redirect(request.get_full_path())
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: ConfirmForm) -> HttpResponse:
        refused = check_password(self.request, self.user, form.cleaned_data["password"])
        if refused:
            form.add_error("password", refused)
            return self.form_invalid(form)
        if self.method == "app":
            device = active_device(self.user)
            if device is None:  # removed meanwhile: choose again
                return redirect(self.request.get_full_path())
            check = verify_code(
                device=device,
                code=form.cleaned_data["code"],
                request=self.request,
                purpose="confirm",
            )
            if not check.accepted:
                form.add_error("code", check.message)
                return self.form_invalid(form)
        confirm_identity(request=self.request, user=self.user, method=self.method)
        return redirect(_done(self.request))


def _logged_in(request: HttpRequest) -> JsonResponse | None:
    if request.user.is_authenticated:
        return None
    message = _("You are logged out. Log in again.")
    return JsonResponse({"error": message, "redirect": reverse("login:login")}, status=401)


def _back_to_page(request: HttpRequest, message: str) -> HttpResponse:
    """A key's form posted without webauthn.js: the page again (the key method), with why."""
    messages.error(request, message)
    query = urlencode({"method": "key", "next": safe_next(request, "")})
    return redirect(f"{reverse('login:confirm')}?{query}")


@sensitive_post_parameters("password")
@require_POST
def key_options(request: HttpRequest) -> HttpResponse:
    """Options for confirming with one of the account's keys, once the password is typed
    (it is checked with the answer)."""
    refused = _logged_in(request)
    if refused:
        return refused
    user = cast(User, request.user)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": form_errors(form)}, status=400)
    allow = list(user.security_keys.values_list("credential_id", "transports"))
    if not allow:
        return JsonResponse({"error": _("Your account has no security key.")}, status=400)
    challenge = challenges.issue(
        session=request.session, purpose=challenges.Purpose.CONFIRM, user=user
    )
    options = authentication_options(challenge=challenge, allow=allow, user_verification=None)
    return JsonResponse({"publicKey": options})


@sensitive_post_parameters("password", "credential")
@require_POST
def confirm_key(request: HttpRequest) -> HttpResponse:
    """The password and a key's answer (webauthn.js): both right, the window opens. A form
    posted without the script gets pages and messages, never JSON."""
    script = wants_json(request)
    if not request.user.is_authenticated and not script:
        messages.error(request, _("You are logged out. Log in again."))
        return redirect_to_login(reverse("login:confirm"))
    refused = _logged_in(request)
    if refused:
        return refused
    user = cast(User, request.user)
    credential = request.POST.get("credential", "")
    if not credential and not script:  # sent without webauthn.js
        return _back_to_page(
            request, _("Security keys need JavaScript: turn it on, or use a code.")
        )
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        message: str | None = form_errors(form)
    else:
        message = check_password(request, user, form.cleaned_data["password"])
    if message is None:
        check = assertions.check_key(
            request=request, user=user, credential=credential, purpose="confirm"
        )
        message = None if check.accepted else check.message
    if message is not None:
        if not script:
            return _back_to_page(request, message)
        return JsonResponse({"error": message}, status=400)
    confirm_identity(request=request, user=user, method="key")
    target = _done(request)
    return JsonResponse({"redirect": target}) if script else redirect(target)
