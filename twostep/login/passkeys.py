"""The login with a security key or passkey, for webauthn.js (every answer is JSON):

- the second step: a session that passed the password step asks for options naming its
  account's keys, then posts the key's answer; accepted, the login completes;
- passwordless: the login page asks for options naming no key (the browser offers the
  site's passkeys, in its autofill too), then posts the answer; accepted, the account the
  passkey belongs to is logged in, as a login with the second factor (a passkey checked
  with user verification is two factors in one).
"""

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from twostep.accounts import devices
from twostep.accounts.models import User
from twostep.accounts.views import safe_next
from twostep.mfa.webauthn import assertions, challenges
from twostep.mfa.webauthn.ceremonies import authentication_options

from . import flow, pending


def _expired() -> JsonResponse:
    return JsonResponse(
        {
            "error": _("Your login expired. Enter your email and password again."),
            "redirect": reverse("login:login"),
        },
        status=400,
    )


def _refused(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


@require_POST
def key_options(request: HttpRequest) -> JsonResponse:
    """Options for the second step: this pending login's account's keys only."""
    user = pending.pending_user(request)
    if user is None:
        return _expired()
    allow = list(user.security_keys.values_list("credential_id", "transports"))
    if not allow:
        return _refused(_("This account has no security key. Use another method."))
    challenge = challenges.issue(
        session=request.session, purpose=challenges.Purpose.SECOND_STEP, user=user
    )
    return JsonResponse(
        {"publicKey": authentication_options(challenge=challenge, allow=allow, user_verification=None)}
    )


@require_POST
def key_login(request: HttpRequest) -> JsonResponse:
    """The second step with a key: judged, then the login completes."""
    user = pending.pending_user(request)
    if user is None:
        return _expired()
    check = assertions.check_key(
        request=request, user=user, credential=request.POST.get("credential", "")
    )
    if not check.accepted:
        return _refused(check.message)
    next_url = pending.next_url(request) or reverse(settings.LOGIN_REDIRECT_URL)
    pending.clear(request)
    flow.complete_login(request=request, user=user, mfa_verified=True)
    return JsonResponse({"redirect": next_url})


@require_POST
def passkey_options(request: HttpRequest) -> JsonResponse:
    """Options for a passwordless login: no key named, user verification required."""
    if request.user.is_authenticated:
        return JsonResponse({"redirect": reverse(settings.LOGIN_REDIRECT_URL)})
    challenge = challenges.issue(
        session=request.session, purpose=challenges.Purpose.PASSWORDLESS, user=None
    )
    return JsonResponse(
        {"publicKey": authentication_options(challenge=challenge, allow=[], user_verification=True)}
    )


@require_POST
def passkey_login(request: HttpRequest) -> JsonResponse:
    """A passwordless login: the passkey names the account; accepted, it is logged in."""
    if request.user.is_authenticated:
        return JsonResponse({"redirect": reverse(settings.LOGIN_REDIRECT_URL)})
    verdict = assertions.check_passkey(
        request=request, credential=request.POST.get("credential", "")
    )
    if verdict.user is None:
        return _refused(verdict.check.message)
    user: User = verdict.user
    pending.clear(request)  # a password step begun in this browser is superseded
    devices.prepare(request=request, user=user)
    flow.complete_login(request=request, user=user, mfa_verified=True)
    response = JsonResponse({"redirect": safe_next(request, reverse(settings.LOGIN_REDIRECT_URL))})
    devices.set_cookie(request=request, response=response)
    return response
