"""The judge of a security key's or passkey's answer (an assertion), as verification.py is
the judge of a code: the shared throttle first, then the challenge used up by one
conditional DELETE (so a replayed or raced answer is refused like a reused code), then the
signature, then the sign count raised by one conditional UPDATE. Never raises for bad
input; every refusal is a CodeCheck whose message is safe to show.

Two entry points: `check_key` for an account already known (the second step of a login,
or confirming a change) and `check_passkey` for a passwordless login, where the
credential names the account.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, record
from twostep.mail.services import queue_email

from .. import throttle
from ..checks import CodeCheck, Reason
from ..models import MfaState, SecurityKey
from . import ceremonies, challenges, key_lookup, passkey_throttle, sign_count

Purpose = Literal["login", "confirm"]
"""Why a known account's key is checked (as for codes: which emails a failure sends)."""

CLONE_EMAIL_QUIET = timedelta(minutes=10)


def _not_this_accounts(reason: str) -> ceremonies.Refused:
    return ceremonies.Refused(
        reason, _("This security key is not registered for this account. Try another key.")
    )


def _replayed() -> CodeCheck:
    return CodeCheck(
        False,
        Reason.REUSED,
        _("This answer from your security key was already used or has expired. Try again."),
    )


def _key_gone() -> CodeCheck:
    return CodeCheck(False, Reason.OFF, _("This security key was removed meanwhile."))


@dataclass(frozen=True)
class PasskeyLogin:
    """The verdict on a passwordless login, and the account it logs in when accepted."""

    check: CodeCheck
    user: User | None = None


def check_key(
    *, request: HttpRequest, user: User, credential: str, purpose: Purpose = "login"
) -> CodeCheck:
    """Judge a get() answer for `user` (allowCredentials were this account's keys), with
    the challenge this session was given for it. Do not call inside a transaction."""
    now = timezone.now()
    refused = _throttled(user, now)
    if refused:
        return refused
    try:
        answer = ceremonies.read_answer(credential)
    except ceremonies.Refused as error:
        return _failure(user, request, purpose, error, now)
    key = SecurityKey.objects.filter(credential_id=answer.credential_id).first()
    if key is None or key.user_id != user.pk:
        reason = "unknown_credential" if key is None else "another_account"
        return _failure(user, request, purpose, _not_this_accounts(reason), now)
    key.user = user
    return _judge(key, answer, request=request, purpose=purpose, passwordless=False, now=now)


def check_passkey(*, request: HttpRequest, credential: str) -> PasskeyLogin:
    """Judge a passwordless get() answer: a discoverable credential with user verification,
    whose user handle must be its account's. A credential ID is no secret (it is sent in
    allowCredentials), so until the signature verifies nobody has shown they hold the
    passkey: such failures are recorded with no account and counted per client address
    (passkey_throttle), never in the account's throttle; a locked account stays locked."""
    now = timezone.now()
    try:
        answer = ceremonies.read_answer(credential)
    except ceremonies.Refused as error:
        return PasskeyLogin(passkey_throttle.failure(request, error.reason, error.message, now))
    found = key_lookup.passkey_and_account(
        answer.credential_id, address_key=passkey_throttle.address_key(request), now=now
    )
    if found is None:
        message = _(
            "This passkey is not registered here (it may have been removed). "
            "Log in with your email and password."
        )
        return PasskeyLogin(passkey_throttle.failure(request, "unknown_credential", message, now))
    key, address_held = found
    if address_held:
        return PasskeyLogin(
            passkey_throttle.failure(request, "address_held", _replayed().message, now)
        )
    user = key.user
    refused = _throttled(user, now)
    if refused:
        return PasskeyLogin(refused)
    handle = _user_handle(user)
    if handle is None or answer.user_handle != handle:
        mismatch = _not_this_accounts("user_handle")
        return PasskeyLogin(
            passkey_throttle.failure(request, mismatch.reason, mismatch.message, now)
        )
    check = _judge(key, answer, request=request, purpose="login", passwordless=True, now=now)
    return PasskeyLogin(check, user if check.accepted else None)


def _judge(
    key: SecurityKey,
    answer: ceremonies.Answer,
    *,
    request: HttpRequest,
    purpose: Purpose,
    passwordless: bool,
    now: datetime,
) -> CodeCheck:
    """Check the signature, then use up the challenge and raise the sign count in one
    conditional write (sign_count.use_and_advance), so of racing answers exactly one is
    accepted. A refused signature still uses the challenge up (it stays used), and the
    refusal is recorded after that write.
    """
    refused: ceremonies.Refused | None = None
    try:
        verified = ceremonies.verify_assertion(
            answer,
            challenge=answer.challenge,  # this session's, or the write below finds nothing
            public_key=bytes(key.public_key),
            require_user_verification=passwordless,
        )
    except ceremonies.Refused as error:
        refused = error
    use = sign_count.session_use(
        request.session.session_key,
        purpose=_challenge_purpose(purpose, passwordless=passwordless),
        user=None if passwordless else key.user,
        challenge=answer.challenge,
        now=now,
    )
    if use is None:
        won = advanced = False
    elif refused is not None:
        won, advanced = sign_count.use_only(use), False
    else:
        outcome = sign_count.use_and_advance(key, verified, use)
        won, advanced = outcome.won, outcome.advanced
    if not won:
        if passwordless:  # nobody has shown they hold this passkey: no account charged
            return passkey_throttle.failure(request, "replayed", _replayed().message, now)
        return _record_replay(key, request, purpose)
    if refused is not None:
        if passwordless:
            return passkey_throttle.failure(request, refused.reason, refused.message, now)
        return _failure(key.user, request, purpose, refused, now)
    if not advanced:
        held_back = throttle.refusal(MfaState.objects.filter(user_id=key.user_id).first(), now=now)
        if held_back:  # others used up the free tries meanwhile: not judged
            return held_back
        return _record_regression(key, verified.new_sign_count, request=request, now=now)
    throttle.record_success(key.user)
    return CodeCheck.ok()


def _challenge_purpose(purpose: Purpose, *, passwordless: bool) -> str:
    """The challenge each use was given: one use's challenge never serves another."""
    if passwordless:
        return challenges.Purpose.PASSWORDLESS
    return _CHALLENGE_PURPOSES.get(purpose, challenges.Purpose.SECOND_STEP)


_CHALLENGE_PURPOSES = {"confirm": challenges.Purpose.CONFIRM}


def _throttled(user: User, now: datetime) -> CodeCheck | None:
    return throttle.refusal(throttle.state_of(user), now=now)


def _user_handle(user: User) -> bytes | None:
    state = throttle.state_of(user)
    handle = state.webauthn_user_handle if state is not None else None
    return bytes(handle) if handle is not None else None


def _failure(
    user: User, request: HttpRequest, purpose: Purpose, refused: ceremonies.Refused, now: datetime
) -> CodeCheck:
    """One judged failure, counted in the second step's shared throttle (KEY_REFUSED, with
    why: malformed, origin, rp_id, invalid, unknown_credential, another_account, ...)."""
    return throttle.record_failure(
        user,
        request=request,
        purpose=purpose,
        method="key",
        message=refused.message,
        now=now,
        details={"reason": refused.reason},
    )


def _record_replay(key: SecurityKey, request: HttpRequest, purpose: Purpose) -> CodeCheck:
    """The challenge was already used (a replay or the loser of a race) or expired: refused
    and recorded like a reused code, not counted as a wrong one."""
    record(
        type=SecurityEvent.Type.CODE_REUSE,
        subject=key.user,
        request=request,
        purpose=purpose,
        method="key",
        key=key.name,
    )
    return _replayed()


def _record_regression(
    key: SecurityKey, new_count: int, *, request: HttpRequest, now: datetime
) -> CodeCheck:
    """A sign count that did not grow: the key may have been copied. Refused, recorded, and
    the owner emailed (once per burst)."""
    with transaction.atomic():
        # Serialise the reports per key, so that of racing answers only one emails.
        current = SecurityKey.objects.select_for_update().filter(pk=key.pk).first()
        if current is None:
            return _key_gone()
        recent = SecurityEvent.objects.filter(
            subject=key.user,
            type=SecurityEvent.Type.KEY_SIGN_COUNT_REGRESSED,
            created_at__gte=now - CLONE_EMAIL_QUIET,
        ).exists()
        record(
            type=SecurityEvent.Type.KEY_SIGN_COUNT_REGRESSED,
            subject=key.user,
            request=request,
            key=current.name,
            key_id=current.pk,
            stored_count=current.sign_count,
            answered_count=new_count,
        )
        if not recent:
            queue_email(
                to=key.user.email,
                template="key_sign_count",
                context={"user": key.user, "key_name": current.name, "ip": client_ip(request)},
            )
    return CodeCheck(
        False,
        Reason.WRONG,
        _(
            "This security key was refused: it may have been copied. Use another method, "
            "and remove this key in Settings if you did not copy it."
        ),
    )
