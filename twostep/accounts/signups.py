"""Sign-up: an inactive account until the emailed link is confirmed."""

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.links import site_url
from twostep.mail.services import queue_email

from .email_quota import allow_email
from .models import User, normalize_email
from .tokens import signup_link


def signup(*, request: HttpRequest, email: str, full_name: str, password: str) -> None:
    """Create an inactive account and email a confirmation link.

    For an address that already has an account nothing is created: the owner is told by
    email instead, so the page answers the same whether or not the address is known. Every
    path does the same work (one password hash, one write of the account row, one event,
    one queued email), so the time taken does not tell either. Past the hourly email limits
    (email_quota) nothing happens, and the page still answers the same.

    The email allowance is taken in its own short statements and the password hashed before
    the transaction: no row lock is held through the hash, so one client's sign-ups do not
    queue behind each other's hashing.
    """
    email = normalize_email(email)
    allowed = allow_email(request=request, email=email, purpose="signup")
    hashed = make_password(password)
    if not allowed:
        return
    for last_try in (False, True):
        try:
            with transaction.atomic():
                _write(request=request, email=email, full_name=full_name, hashed=hashed)
            return
        except IntegrityError:
            # Two sign-ups for a new address at once: the row lock cannot cover a row that
            # does not exist yet, so the second insert fails. Again, it finds the account.
            if last_try:
                raise


def _write(*, request: HttpRequest, email: str, full_name: str, hashed: str) -> None:
    now = timezone.now()
    existing = User.objects.select_for_update().filter(email=email).first()
    if existing is None:
        user = User.objects.create(
            email=email,
            password=hashed,
            full_name=full_name,
            is_active=False,
            signup_tried_at=now,
        )
        record(type=SecurityEvent.Type.SIGNUP, subject=user, request=request)
    elif awaiting_confirmation(existing):
        # The latest sign-up wins. An earlier one may have been someone else's (account
        # pre-hijacking): the link is bound to the password hash, so it can only ever
        # activate the password submitted with it.
        existing.password = hashed
        existing.full_name = full_name
        existing.signup_tried_at = now
        existing.save(update_fields=["password", "full_name", "signup_tried_at"])
        record(type=SecurityEvent.Type.SIGNUP_EXISTING, subject=existing, request=request)
        user = existing
    else:  # active, or deactivated by staff: sign-up must not bring it back
        User.objects.filter(pk=existing.pk).update(signup_tried_at=now)
        record(type=SecurityEvent.Type.SIGNUP_EXISTING, subject=existing, request=request)
        queue_email(
            to=email,
            template="signup_existing",
            context={"user": existing, "site": site_url("/")},
        )
        return
    queue_email(
        to=email,
        template="signup_confirm",
        context={"user": user, "link": signup_link(user)},
    )


def awaiting_confirmation(user: User) -> bool:
    """True for an account created by sign-up whose address was never confirmed.

    An account staff deactivated is inactive too but must never become confirmable again;
    the append-only audit log tells the two apart.
    """
    if user.is_active:
        return False
    events = SecurityEvent.objects.filter(subject=user)
    return (
        events.filter(type=SecurityEvent.Type.SIGNUP).exists()
        and not events.filter(type=SecurityEvent.Type.SIGNUP_CONFIRMED).exists()
    )


def confirm_signup(*, request: HttpRequest, user: User) -> bool:
    """Activate an account awaiting confirmation. Returns False when there is none."""
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk).first()
        if locked is None or not awaiting_confirmation(locked):
            return False
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
        record(type=SecurityEvent.Type.SIGNUP_CONFIRMED, subject=user, request=request)
    return True
