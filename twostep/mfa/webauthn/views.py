"""Settings pages for security keys and passkeys: add one (its name, then the browser's
ceremony through webauthn.js), rename one, remove one. The ceremony's requests answer JSON;
every page works without JavaScript as far as it can, and says what it needs."""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from twostep.accounts.models import User

from .. import enrolment
from ..models import MAX_SECURITY_KEYS, SecurityKey
from ..session import FIRST_SET, grant_recovery_codes, may_add_factor
from . import assertions, challenges, keys, registration
from .ceremonies import Refused, authentication_options
from .forms import ConfirmOffForm, KeyNameForm

NO_SCRIPT = gettext_lazy(
    "Adding a security key needs JavaScript and a browser that supports security keys and passkeys."
)


def wants_json(request: HttpRequest) -> bool:
    """webauthn.js asks for JSON; a form sent without the script gets a page."""
    return "application/json" in request.headers.get("Accept", "")


def form_errors(form: KeyNameForm | ConfirmOffForm) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


NOT_VERIFIED = gettext_lazy(
    "To add a security key or passkey, log out and log in again with your second factor."
)
SENSITIVE = method_decorator(sensitive_post_parameters("credential"), name="dispatch")


def may_add_key(request: HttpRequest) -> bool:
    """With 2FA on, only a session whose login used the second factor, or the one that
    turned 2FA on, adds a key (a passkey logs in alone: a password-only session of an
    account protected by 2FA must not make one)."""
    return may_add_factor(request)


@SENSITIVE
class KeyAddView(LoginRequiredMixin, View):
    """GET: the name field and the button that starts the browser's ceremony. POST: the
    browser's answer (from webauthn.js) with the name; the key is checked and stored."""

    template_name = "mfa/webauthn/add.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(KeyNameForm())

    def page(self, form: KeyNameForm, status: int = 200) -> HttpResponse:
        user = cast(User, self.request.user)
        full = SecurityKey.objects.filter(user=user).count() >= MAX_SECURITY_KEYS
        context = {"form": form, "full": full, "max_keys": MAX_SECURITY_KEYS}
        return render(self.request, self.template_name, context, status=status)

    def post(self, request: HttpRequest) -> HttpResponse:
        user = cast(User, request.user)
        form = KeyNameForm(request.POST)
        if not form.is_valid():
            return self.refuse(form, form_errors(form))
        if not may_add_key(request):
            return self.refuse(form, str(NOT_VERIFIED))
        credential = request.POST.get("credential", "")
        if not credential and not wants_json(request):
            form.add_error(None, NO_SCRIPT)
            return self.page(form, status=400)
        try:
            key, first = registration.add_key(
                request=request, user=user, name=form.cleaned_data["name"], credential=credential
            )
        except Refused as refused:
            return self.refuse(form, refused.message)
        messages.success(request, _("“%(name)s” was added.") % {"name": key.name})
        # The account's first method: 2FA is on, and its recovery codes come next.
        if first:
            grant_recovery_codes(request.session, user=user, kind=FIRST_SET)
        target = reverse("mfa:recovery_codes" if first else "accounts:settings")
        if wants_json(request):
            return JsonResponse({"redirect": target})
        return redirect(target)

    def refuse(self, form: KeyNameForm, message: str) -> HttpResponse:
        if wants_json(self.request):
            return JsonResponse({"error": message}, status=400)
        if not form.errors:
            form.add_error(None, message)
        return self.page(form, status=400)


class KeyAddOptionsView(LoginRequiredMixin, View):
    """POST (webauthn.js): the options for navigator.credentials.create(), once the name is
    right, with a new challenge for this session."""

    def post(self, request: HttpRequest) -> JsonResponse:
        form = KeyNameForm(request.POST)
        if not form.is_valid():
            return JsonResponse({"error": form_errors(form)}, status=400)
        if not may_add_key(request):
            return JsonResponse({"error": str(NOT_VERIFIED)}, status=403)
        try:
            options = registration.registration_options(
                request=request, user=cast(User, request.user)
            )
        except Refused as refused:
            return JsonResponse({"error": refused.message}, status=400)
        return JsonResponse({"publicKey": options})


class OwnKeyMixin(LoginRequiredMixin):
    """Pages about one of the person's own keys; another account's key is not found."""

    key: SecurityKey
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        key = keys.account_key(cast(User, request.user), kwargs["pk"])
        if key is None:
            messages.info(request, _("That security key is not on your account (any more)."))
            return redirect("accounts:settings")
        self.key = key
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class KeyRenameView(OwnKeyMixin, FormView):
    template_name = "mfa/webauthn/rename.html"
    form_class = KeyNameForm

    def get_initial(self) -> dict[str, Any]:
        return {"name": self.key.name}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(key=self.key, **kwargs)

    def form_valid(self, form: KeyNameForm) -> HttpResponse:
        user = cast(User, self.request.user)
        old = self.key.name
        if keys.rename_key(
            request=self.request, user=user, key=self.key, name=form.cleaned_data["name"]
        ):
            messages.success(
                self.request,
                _("“%(old)s” is now named “%(new)s”.") % {"old": old, "new": self.key.name},
            )
        return redirect("accounts:settings")


class KeyRemoveView(OwnKeyMixin, View):
    """GET: what removing the key means; POST: remove it. The last method of the account
    goes through the disable confirmation instead (it turns 2FA off)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = cast(User, request.user)
        context = {"key": self.key, "last": keys.is_last_method(user)}
        return render(request, "mfa/webauthn/remove.html", context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = cast(User, request.user)
        try:
            removed = keys.remove_key(request=request, user=user, key=self.key)
        except keys.LastMethod:
            messages.info(
                request,
                _(
                    "“%(name)s” is your last way to log in with two-factor authentication: "
                    "removing it turns two-factor authentication off."
                )
                % {"name": self.key.name},
            )
            return redirect("mfa:disable")
        if removed:
            messages.success(request, _("“%(name)s” was removed.") % {"name": self.key.name})
        return redirect("accounts:settings")


class DisableOptionsView(LoginRequiredMixin, View):
    """POST (webauthn.js): options to confirm turning 2FA off with one of the account's
    keys, once the box is ticked."""

    def post(self, request: HttpRequest) -> JsonResponse:
        user = cast(User, request.user)
        form = ConfirmOffForm(request.POST)
        if not form.is_valid():
            return JsonResponse({"error": form_errors(form)}, status=400)
        allow = list(user.security_keys.values_list("credential_id", "transports"))
        if not allow:
            return JsonResponse({"error": _("Your account has no security key.")}, status=400)
        challenge = challenges.issue(
            session=request.session, purpose=challenges.Purpose.DISABLE, user=user
        )
        options = authentication_options(challenge=challenge, allow=allow, user_verification=None)
        return JsonResponse({"publicKey": options})


@SENSITIVE
class DisableWithKeyView(LoginRequiredMixin, View):
    """POST: turn 2FA off (every method goes) with a security key's answer instead of a
    code, judged like a login's; the same confirmation as the code form."""

    def post(self, request: HttpRequest) -> HttpResponse:
        user = cast(User, request.user)
        form = ConfirmOffForm(request.POST)
        credential = request.POST.get("credential", "")
        message = ""
        if not form.is_valid():
            message = form_errors(form)
        elif not credential and not wants_json(request):
            message = str(NO_SCRIPT_KEY)
        else:
            check = assertions.check_key(
                request=request, user=user, credential=credential, purpose="disable"
            )
            if check.accepted:
                enrolment.turn_off(user=user, request=request)
                messages.success(request, _("Two-factor authentication is now off."))
                return self.answer({"redirect": reverse("accounts:settings")})
            message = check.message
        return self.answer({"error": message})

    def answer(self, body: dict[str, str]) -> HttpResponse:
        if wants_json(self.request):
            return JsonResponse(body, status=400 if "error" in body else 200)
        if "error" in body:
            messages.error(self.request, body["error"])
        return redirect(body.get("redirect") or reverse("mfa:disable"))


NO_SCRIPT_KEY = gettext_lazy("Security keys need JavaScript: turn it on, or use a code.")
