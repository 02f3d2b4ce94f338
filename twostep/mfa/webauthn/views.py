"""Settings pages for security keys and passkeys: add one (its name, then the browser's
ceremony through webauthn.js), rename one, remove one. The ceremony's requests answer JSON;
every page works without JavaScript as far as it can, and says what it needs. Adding and
removing a key need a recent "confirm it's you" (accounts.confirmation); its refusal
answers JSON to the script too."""

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

from twostep.accounts.confirmation import ConfirmItsYouMixin, take_stash, wants_json
from twostep.accounts.models import User

from ..forms import form_errors
from ..models import MAX_SECURITY_KEYS, SecurityKey
from ..session import grant_first_recovery_codes
from . import keys, registration
from .ceremonies import Refused
from .forms import KeyNameForm

NO_SCRIPT = gettext_lazy(
    "Adding a security key needs JavaScript and a browser that supports security keys and passkeys."
)


SENSITIVE = method_decorator(sensitive_post_parameters("credential"), name="dispatch")


class AddingKeyMixin(LoginRequiredMixin, ConfirmItsYouMixin):
    """Adding a key needs a recent confirmation (with 2FA on, the password and a second
    factor: a passkey logs in alone, so a session that only knows the password must not
    make one). Refused, the page and its script come back here after confirming, with the
    name typed kept."""

    confirm_return_to = "mfa:key_add"
    confirm_keep_fields = ("name",)


@SENSITIVE
class KeyAddView(AddingKeyMixin, View):
    """GET: the name field and the button that starts the browser's ceremony. POST: the
    browser's answer (from webauthn.js) with the name; the key is checked and stored."""

    template_name = "mfa/webauthn/add.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(KeyNameForm(initial=take_stash(request)))

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
            grant_first_recovery_codes(request.session, user=user)
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


class KeyAddOptionsView(AddingKeyMixin, View):
    """POST (webauthn.js): the options for navigator.credentials.create(), once the name is
    right, with a new challenge for this session."""

    def post(self, request: HttpRequest) -> JsonResponse:
        form = KeyNameForm(request.POST)
        if not form.is_valid():
            return JsonResponse({"error": form_errors(form)}, status=400)
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


class KeyRemoveView(OwnKeyMixin, ConfirmItsYouMixin, View):
    """GET: what removing the key means; POST: remove it. Both after a recent confirmation.
    The last method of the account goes through turning 2FA off instead."""

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
