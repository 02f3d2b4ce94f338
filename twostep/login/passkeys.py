"""The login with a security key or passkey, for webauthn.js (its requests get JSON):

- the second step: a session that passed the password step asks for options naming its
  account's keys, then posts the key's answer; accepted, the login completes;
- passwordless: the login page asks for options naming no key (the browser offers the
  site's passkeys, in its autofill too), then posts the answer; accepted, the account the
  passkey belongs to is logged in, as a login with the second factor (a passkey checked
  with user verification is two factors in one).

A form sent without the script is told what it needs, on the page it came from.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from twostep.accounts import devices
from twostep.accounts.confirmation import wants_json
from twostep.accounts.models import User
from twostep.accounts.views import safe_next
from twostep.mfa.webauthn import assertions, challenges, passkey_throttle
from twostep.mfa.webauthn.ceremonies import authentication_options

from . import flow, pending


def _reply(request: HttpRequest, body: dict[str, str], *, page: str) -> HttpResponse:
    """JSON for the script; for a form sent without it, the message on `page` (or where
    the body redirects)."""
    status = 400 if "error" in body else 200
    if wants_json(request):
        return JsonResponse(body, status=status)
    if "error" in body:
        messages.error(request, body["error"])
    return redirect(body.get("redirect") or page)


def _no_script(request: HttpRequest, page: str) -> HttpResponse | None:
    if request.POST.get("credential") or wants_json(request):
        return None
    message = _("Security keys and passkeys need JavaScript and a browser that supports them.")
    return _reply(request, {"error": message}, page=page)


def _expired(request: HttpRequest) -> HttpResponse:
    message = _("Your login expired. Enter your email and password again.")
    return _reply(request, {"error": message, "redirect": reverse("login:login")}, page="")


@require_POST
def key_options(request: HttpRequest) -> HttpResponse:
    """Options for the second step: this pending login's account's keys only."""
    user = pending.pending_user(request)
    if user is None:
        return _expired(request)
    allow = list(user.security_keys.values_list("credential_id", "transports"))
    if not allow:
        message = _("This account has no security key. Use another method.")
        return _reply(request, {"error": message}, page=reverse("login:code"))
    challenge = challenges.issue(
        session=request.session, purpose=challenges.Purpose.SECOND_STEP, user=user
    )
    options = authentication_options(challenge=challenge, allow=allow, user_verification=None)
    return JsonResponse({"publicKey": options})


@sensitive_post_parameters("credential")
@require_POST
def key_login(request: HttpRequest) -> HttpResponse:
    """The second step with a key: judged, then the login completes."""
    user = pending.pending_user(request)
    if user is None:
        return _expired(request)
    no_script = _no_script(request, reverse("login:code"))
    if no_script:
        return no_script
    check = assertions.check_key(
        request=request, user=user, credential=request.POST.get("credential", "")
    )
    if not check.accepted:
        return _reply(request, {"error": check.message}, page=reverse("login:code"))
    next_url = pending.next_url(request) or reverse(settings.LOGIN_REDIRECT_URL)
    pending.clear(request)
    flow.complete_login(request=request, user=user, mfa_verified=True)
    response = JsonResponse(
        {"redirect": flow.landing(request=request, user=user, next_url=next_url)}
    )
    flow.remember_if_ticked(request=request, user=user, method="key", response=response)
    return response


@require_POST
def passkey_options(request: HttpRequest) -> HttpResponse:
    """Options for a passwordless login: no key named, user verification required."""
    if request.user.is_authenticated:
        return JsonResponse({"redirect": reverse(settings.LOGIN_REDIRECT_URL)})
    # Anonymous, and asked by every login page (the autofill): limited per address, and a
    # browser's new request replaces its own earlier challenge (challenges.issue).
    if not passkey_throttle.options_allowed(request, now=timezone.now()):
        message = _("Too many passkey requests from your network. Wait a few minutes.")
        return JsonResponse({"error": message}, status=429)
    challenge = challenges.issue(
        session=request.session, purpose=challenges.Purpose.PASSWORDLESS, user=None
    )
    options = authentication_options(challenge=challenge, allow=[], user_verification=True)
    return JsonResponse({"publicKey": options})


@sensitive_post_parameters("credential")
@require_POST
def passkey_login(request: HttpRequest) -> HttpResponse:
    """A passwordless login: the passkey names the account; accepted, it is logged in."""
    if request.user.is_authenticated:
        return JsonResponse({"redirect": reverse(settings.LOGIN_REDIRECT_URL)})
    no_script = _no_script(request, reverse("login:login"))
    if no_script:
        return no_script
    verdict = assertions.check_passkey(
        request=request, credential=request.POST.get("credential", "")
    )
    if verdict.user is None:
        return _reply(request, {"error": verdict.check.message}, page=reverse("login:login"))
    user: User = verdict.user
    pending.clear(request)  # a password step begun in this browser is superseded
    devices.prepare(request=request, user=user)
    flow.complete_login(request=request, user=user, mfa_verified=True)
    next_url = safe_next(request, reverse(settings.LOGIN_REDIRECT_URL))
    response = JsonResponse(
        {"redirect": flow.landing(request=request, user=user, next_url=next_url)}
    )
    devices.set_cookie(request=request, response=response)
    return response
