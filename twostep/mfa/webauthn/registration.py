"""Adding a security key or passkey: the options (the account's random user handle, its
keys excluded, at most MAX_SECURITY_KEYS), then the answer checked and stored with its
audit event and email, in the transaction that recounts the account's methods."""

import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from twostep.accounts.models import User
from twostep.accounts.sessions import end_other_sessions
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.services import queue_email

from ..factors import recount_methods
from ..models import MAX_SECURITY_KEYS, MfaState, SecurityKey
from ..throttle import ensure_state
from . import ceremonies, challenges
from .ceremonies import Refused

USER_HANDLE_BYTES = 32


def too_many() -> Refused:
    return Refused(
        "too_many",
        _("You have %(count)d security keys, the most an account can have. Remove one first.")
        % {"count": MAX_SECURITY_KEYS},
    )


def user_handle(user: User) -> bytes:
    """The account's WebAuthn user handle, made on first use: random, so it names nobody
    (the spec asks that it be neither the email nor the primary key). One conditional
    UPDATE makes it, so two first registrations at once agree on it."""
    state = ensure_state(user)
    if state.webauthn_user_handle is None:
        MfaState.objects.filter(pk=state.pk, webauthn_user_handle__isnull=True).update(
            webauthn_user_handle=secrets.token_bytes(USER_HANDLE_BYTES)
        )
        state.refresh_from_db(fields=["webauthn_user_handle"])
    handle = state.webauthn_user_handle
    assert handle is not None  # made just above, by this call or a racing one
    return bytes(handle)


def registration_options(*, request: HttpRequest, user: User) -> dict[str, Any]:
    """Options for the browser's create(), with a new challenge for this session. Raises
    Refused when the account already has the most keys it may have."""
    keys = list(SecurityKey.objects.filter(user=user).values_list("credential_id", "transports"))
    if len(keys) >= MAX_SECURITY_KEYS:
        raise too_many()
    handle = user_handle(user)
    challenge = challenges.issue(
        session=request.session, purpose=challenges.Purpose.REGISTER, user=user
    )
    return ceremonies.registration_options(
        challenge=challenge,
        user_handle=handle,
        name=user.email,
        display_name=user.full_name,
        exclude=keys,
    )


def add_key(
    *, request: HttpRequest, user: User, name: str, credential: str
) -> tuple[SecurityKey, bool]:
    """Check the browser's create() answer and store the key under `name`. Returns the key
    and whether it is the account's first method (2FA has just turned on: the caller sends
    the person to their recovery codes). Raises Refused, having changed nothing."""
    now = timezone.now()
    answer = ceremonies.read_answer(credential)
    if not challenges.consume(
        session=request.session,
        purpose=challenges.Purpose.REGISTER,
        user=user,
        challenge=answer.challenge,
        now=now,
    ):
        raise Refused("expired", _("This request expired or was already used. Try again."))
    new = ceremonies.verify_registration(answer, challenge=answer.challenge)
    try:
        with transaction.atomic():
            # The account's row, locked: two additions at once cannot pass the limit.
            MfaState.objects.select_for_update().filter(user=user).first()
            if SecurityKey.objects.filter(user=user).count() >= MAX_SECURITY_KEYS:
                raise too_many()
            key = SecurityKey.objects.create(
                user=user,
                name=name,
                credential_id=new.credential_id,
                public_key=new.public_key,
                sign_count=new.sign_count,
                transports=new.transports,
                aaguid=new.aaguid,
                backup_eligible=new.backup_eligible,
                backed_up=new.backed_up,
                discoverable=new.discoverable,
                created_at=now,
            )
            before, after = recount_methods(user, request=request)
            first = before == 0 and after > 0
            _record_added(request, user, key, first=first)
    except IntegrityError as error:  # the credential ID is unique across all accounts
        raise Refused("duplicate", _("This security key is already registered.")) from error
    return key, first


def _record_added(request: HttpRequest, user: User, key: SecurityKey, *, first: bool) -> None:
    record(
        type=SecurityEvent.Type.KEY_ADDED,
        subject=user,
        request=request,
        key=key.name,
        key_id=key.pk,
        passkey=bool(key.discoverable),
    )
    if first:
        record(type=SecurityEvent.Type.MFA_ENABLED, subject=user, request=request, method="key")
        # As when the app is turned on: often the answer to a leaked password, so other
        # sessions (the leak's) end, and a support reset's recommendation stops.
        User.objects.filter(pk=user.pk).update(mfa_reset_at=None)
        end_other_sessions(user, keep=request.session.session_key)
    queue_email(
        to=user.email,
        template="key_added",
        context={"user": user, "key_name": key.name, "first": first},
    )
