"""'Generate new recovery codes' (or the first ones, for an account that had 2FA before
codes existed): a page of its own that needs a current proof, a code from the app or the
answer of one of the account's security keys, judged by the same judges as turning 2FA off
(enrolment.judge, assertions.check_key) and so counted in the second step's shared
throttle. A recovery code is not enough: whoever holds one code must not mint ten more.
"""

from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from twostep.accounts.models import User
from twostep.accounts.views import safe_next

from . import enrolment, recovery_codes
from .factors import active_device, second_factor_on
from .forms import CodeForm
from .recovery_views import show_codes
from .session import NEW_SET, grant_recovery_codes
from .webauthn import assertions, challenges
from .webauthn.ceremonies import authentication_options


def _off(request: HttpRequest) -> HttpResponse:
    messages.info(request, gettext("Recovery codes come with two-factor authentication."))
    return redirect("accounts:settings")


@method_decorator([never_cache, sensitive_post_parameters("code")], name="dispatch")
class RegenerateView(LoginRequiredMixin, FormView):
    """GET: what a new set does (the old codes stop working) and the proofs it needs.
    POST: a code from the app; when right, the new set is made and shown once."""

    template_name = "mfa/recovery_codes_new.html"
    form_class = CodeForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not second_factor_on(cast(User, request.user)):
            return _off(request)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = cast(User, self.request.user)
        return super().get_context_data(
            has_set=recovery_codes.codes_left(user) is not None,
            has_app=active_device(user) is not None,
            next=safe_next(self.request, ""),
            **kwargs,
        )

    def form_valid(self, form: CodeForm) -> HttpResponse:
        user = cast(User, self.request.user)
        check = enrolment.judge(
            user=user,
            code=form.cleaned_data["code"],
            request=self.request,
            purpose="regenerate",
            recovery=False,
        )
        if not check.accepted:
            form.add_error("code", check.message)
            return self.form_invalid(form)
        try:
            issued = recovery_codes.issue_set(user, request=self.request)
        except recovery_codes.NoSecondFactor:  # turned off meanwhile
            return _off(self.request)
        assert issued is not None  # replace=True always makes a set
        return show_codes(self.request, user, issued)


class RegenerateKeyOptionsView(LoginRequiredMixin, View):
    """POST (webauthn.js): options to prove one of the account's keys for a new set."""

    def post(self, request: HttpRequest) -> JsonResponse:
        user = cast(User, request.user)
        allow = list(user.security_keys.values_list("credential_id", "transports"))
        if not allow:
            return JsonResponse({"error": gettext("Your account has no security key.")}, status=400)
        challenge = challenges.issue(
            session=request.session, purpose=challenges.Purpose.REGENERATE, user=user
        )
        options = authentication_options(challenge=challenge, allow=allow, user_verification=None)
        return JsonResponse({"publicKey": options})


class RegenerateWithKeyView(LoginRequiredMixin, View):
    """POST (webauthn.js): a key's answer, judged like a login's. When right, this session
    may issue one new set: the recovery codes page it is sent to makes and shows it (the
    codes never travel in JSON)."""

    def post(self, request: HttpRequest) -> JsonResponse:
        user = cast(User, request.user)
        credential = request.POST.get("credential", "")
        if not credential:  # sent without webauthn.js: nothing to judge, nothing counted
            message = gettext("Security keys need JavaScript: turn it on, or use a code.")
            return JsonResponse({"error": message}, status=400)
        check = assertions.check_key(
            request=request, user=user, credential=credential, purpose="regenerate"
        )
        if not check.accepted:
            return JsonResponse({"error": check.message}, status=400)
        grant_recovery_codes(request.session, user=user, kind=NEW_SET)
        target = reverse("mfa:recovery_codes")
        next_url = safe_next(request, "")
        query = f"?{urlencode({'next': next_url})}" if next_url else ""
        return JsonResponse({"redirect": target + query})
