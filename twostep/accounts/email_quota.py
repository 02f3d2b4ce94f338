"""The hourly limits on sign-up and password-reset emails, per address and per client IP.

Without them anyone can fill a stranger's inbox from our sender. The page answers the same
whether or not an email went out (see `allow_email`), and says the same to everyone that a
request past the limit sends nothing, so an owner whose allowance strangers spent is told
to wait rather than to expect an email.
"""

from datetime import timedelta
from typing import Literal

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.http import HttpRequest
from django.utils import timezone

from twostep.audit.services import client_ip

from .devices import trusted_device
from .models import EmailQuota, normalize_email

WINDOW = timedelta(hours=1)
Purpose = Literal["signup", "reset", "email_change"]


def allow_email(*, request: HttpRequest, email: str, purpose: Purpose) -> bool:
    """Count one sign-up or reset email to `email` from this client. False when the client's
    IP or the address already had its allowance this hour (then nothing is counted for the
    address, so a spent IP cannot use up the owner's own allowance).

    Each purpose has its own allowance per address, so sign-ups for an address cannot spend
    its reset emails; the IP's allowance is one for both (it limits a sender, not an inbox).
    A browser holding a trusted device cookie for the address has only the IP limit, so
    requests forged by others cannot keep the owner's own reset link from them.
    """
    ip = client_ip(request)
    if ip and not _take(key=f"ip:{ip}", limit=settings.TWOSTEP_EMAIL_PER_IP_HOUR):
        return False
    if trusted_device(request=request, email=email) is not None:
        return True  # the owner's known browser: strangers cannot spend its allowance
    address = f"{purpose}:address:{normalize_email(email)}"[:200]
    return _take(key=address, limit=settings.TWOSTEP_EMAIL_PER_ADDRESS_HOUR)


def _take(*, key: str, limit: int) -> bool:
    """One more email for `key` if its hour allows it.

    Check and count are one conditional UPDATE (a new hour starts the count again), so
    parallel requests cannot all pass a check that none of them has counted yet.
    """
    now = timezone.now()
    expired = Q(window_started_at__lte=now - WINDOW)
    allowed = EmailQuota.objects.filter(Q(key=key) & (expired | Q(count__lt=limit)))
    changes = {
        "count": Case(When(expired, then=Value(1)), default=F("count") + 1),
        "window_started_at": Case(
            When(expired, then=Value(now)),
            default=F("window_started_at"),
            output_field=models.DateTimeField(),
        ),
    }
    if allowed.update(**changes):
        return True
    if limit < 1:
        return False
    try:
        with transaction.atomic():
            EmailQuota.objects.create(key=key, window_started_at=now, count=1)
        return True
    except IntegrityError:  # spent already, or a parallel first email created the row
        return bool(allowed.update(**changes))
