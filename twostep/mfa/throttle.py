"""STAND-IN for core's throttle (issue9-core): removed at integration."""

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.backoff import backoff_delay

from .models import BACKOFF_CAP, FREE_FAILURES, LOCK_AFTER, MfaState
from .verification import CodeCheck, Reason


def refusal(state: MfaState, *, now: datetime) -> CodeCheck | None:
    if state.failure_count >= LOCK_AFTER:
        return CodeCheck(False, Reason.LOCKED, "Locked.")
    if state.next_try_at and state.next_try_at > now:
        return CodeCheck(False, Reason.THROTTLED, "Wait.", retry_at=state.next_try_at)
    return None


def record_failure(
    user: User, *, request: HttpRequest | None, purpose: str, method: str, message: str, now
) -> CodeCheck:
    with transaction.atomic():
        MfaState.objects.get_or_create(user=user)
        MfaState.objects.filter(user=user).update(failure_count=F("failure_count") + 1)
        state = MfaState.objects.get(user=user)
        delay = backoff_delay(state.failure_count, free=FREE_FAILURES, cap=BACKOFF_CAP)
        if delay:
            MfaState.objects.filter(user=user).update(next_try_at=now + delay)
        event = (
            SecurityEvent.Type.KEY_REFUSED if method == "key" else SecurityEvent.Type.CODE_FAILED
        )
        record(type=event, subject=user, request=request, purpose=purpose, method=method)
    return CodeCheck(False, Reason.WRONG, message)


def record_success(user: User) -> None:
    MfaState.objects.filter(user=user, failure_count__gt=0).update(
        failure_count=0, next_try_at=None
    )
