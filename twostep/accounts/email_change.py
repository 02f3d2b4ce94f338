"""Changing the account's email address: asked from Profile, done from the new address's
mailbox, cancellable from the old one.

- `request_change`: the new address gets a link (or, when it already has an account, a
  note without one: the page answers the same, so nobody learns which addresses have
  accounts); the old address is told, with a link that cancels the change.
- `confirm`: the link's button moves the account. The address is checked again at that
  moment, and the unique constraint settles a race with a sign-up.
- `cancel`: the old address's link, for CANCEL_DAYS: a pending change dies, a done one is
  undone, every session ends. Recovery (recovery.email_change) opens a support case with it.
- `void_pending`: securing the account ("This wasn't me", a password change or reset, a
  support reset) kills a pending change, in the same transaction. So does the end of the
  session that asked for it: the link then no longer works (`usable`).

Every path locks the account's User row first, then the change: never the other way round,
or two of them could deadlock on PostgreSQL. The links are email_change_links'.
"""

import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext

from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, describe_browser, record
from twostep.mail.services import queue_email

from .email_change_links import link
from .email_quota import allow_email
from .models import EmailChange, User, UserSession, normalize_email
from .session_list import session_id
from .sessions import end_all_sessions

CONFIRM_WITHIN = timedelta(hours=24)
CANCEL_DAYS = 7
# Recovery requests from either address within this time of a change are flagged.
WATCH = timedelta(days=CANCEL_DAYS)
Status = EmailChange.Status


class EmailChangeRefused(Exception):
    """The link or request cannot be acted on; the message says why. Nothing changed."""


def pending_for(user: User) -> EmailChange | None:
    now = timezone.now()
    changes = EmailChange.objects.filter(user=user, status=Status.PENDING)
    return changes.filter(requested_at__gt=now - CONFIRM_WITHIN).first()


def usable(change: EmailChange) -> bool:
    """Whether the new address's link can still act: the change is pending, not expired,
    and the session that asked for it is still open."""
    if change.status != Status.PENDING or timezone.now() > change.requested_at + CONFIRM_WITHIN:
        return False
    sessions = UserSession.objects.filter(user_id=change.user_id, expire_date__gt=timezone.now())
    keys = sessions.values_list("session_key", flat=True)
    return any(session_id(key) == change.session_hash for key in keys)


def void_pending(*, user: User, request: HttpRequest | None, reason: str) -> int:
    """The account was secured ("This wasn't me", a password change or reset, a support
    reset): its pending changes die, each with the event a cancellation writes. Call inside
    the transaction that secures it. Returns how many."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    changes = list(
        EmailChange.objects.select_for_update().filter(user_id=user.pk, status=Status.PENDING)
    )
    now = timezone.now()
    for change in changes:
        change.status, change.cancelled_at = Status.VOID, now
        change.save(update_fields=["status", "cancelled_at"])
        record(
            type=SecurityEvent.Type.EMAIL_CHANGE_CANCELLED,
            subject=user,
            request=request,
            old_email=change.old_email,
            new_email=change.new_email,
            reason=reason,
        )
    return len(changes)


def request_change(*, request: HttpRequest, user: User, new_email: str) -> bool:
    """Start moving `user` to `new_email` (mail both addresses); a pending change is
    replaced. False, doing nothing, past the hourly email limits (email_quota)."""
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise EmailChangeRefused(gettext("That is already your email address."))
    if not allow_email(request=request, email=new_email, purpose="email_change"):
        return False
    now = timezone.now()
    with transaction.atomic():
        # The User first; its address as it is now (a confirmation may have just moved it).
        user = User.objects.select_for_update().get(pk=user.pk)
        if new_email == user.email:
            raise EmailChangeRefused(gettext("That is already your email address."))
        EmailChange.objects.filter(user=user, status=Status.PENDING).update(status=Status.REPLACED)
        change = EmailChange.objects.create(
            user=user,
            old_email=user.email,
            new_email=new_email,
            link_salt=secrets.token_hex(16),
            session_hash=session_id(request.session.session_key or ""),
            requested_at=now,
        )
        record(
            type=SecurityEvent.Type.EMAIL_CHANGE_REQUESTED,
            subject=user,
            request=request,
            new_email=new_email,
        )
        if User.objects.filter(email=new_email).exists():
            queue_email(to=new_email, template="email_change_taken", context={})
        else:
            context = {"user": user, "link": link(change, "confirm"), "hours": 24}
            queue_email(to=new_email, template="email_change_confirm", context=context)
        _tell_old_address(change, template="email_change_requested", request=request)
    return True


def _tell_old_address(change: EmailChange, *, template: str, request: HttpRequest) -> None:
    context = {
        "user": change.user,
        "change": change,
        "cancel_link": link(change, "cancel"),
        "days": CANCEL_DAYS,
        "ip": client_ip(request),
        "browser": describe_browser(request.META.get("HTTP_USER_AGENT", "")),
    }
    queue_email(to=change.old_email, template=template, context=context)


def confirm(*, request: HttpRequest, change: EmailChange) -> None:
    """The new address's button: the account takes the new address. Raises
    EmailChangeRefused, changing nothing, for a link used already, replaced, cancelled or
    expired, or an address another account took meanwhile."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=change.user_id)  # the User first
        locked = EmailChange.objects.select_for_update().get(pk=change.pk)
        if not usable(locked) or user.email != locked.old_email:
            raise EmailChangeRefused(
                gettext(
                    "This link is no longer valid: it was used, cancelled or replaced, it "
                    "expired, or the session that asked for the change has ended."
                )
            )
        try:
            with transaction.atomic():  # the unique constraint decides a race with a sign-up
                User.objects.filter(pk=user.pk).update(email=locked.new_email)
        except IntegrityError:
            raise EmailChangeRefused(
                gettext("That address now belongs to another account: nothing changed.")
            ) from None
        user.email = locked.new_email
        locked.status, locked.done_at = Status.DONE, timezone.now()
        locked.save(update_fields=["status", "done_at"])
        record(
            type=SecurityEvent.Type.EMAIL_CHANGED,
            subject=user,
            request=request,
            old_email=locked.old_email,
            new_email=locked.new_email,
        )
        locked.user = user
        _tell_old_address(locked, template="email_changed", request=request)
    change.refresh_from_db()


def cancel(*, request: HttpRequest, change: EmailChange) -> bool:
    """The old address's link: a pending change dies, a done one is undone (when the old
    address is still free), and every session of the account ends. Returns whether the
    account has its old address. Call inside a transaction (recovery.email_change opens the
    support case in it). Raises EmailChangeRefused, changing nothing, for a link used
    already or older than CANCEL_DAYS, or one overtaken by a later change of the address
    (the account's address is neither of this change's, or a later change is pending or
    done)."""
    user = User.objects.select_for_update().get(pk=change.user_id)  # the User first
    locked = EmailChange.objects.select_for_update().get(pk=change.pk)
    if locked.status not in (Status.PENDING, Status.DONE) or timezone.now() > (
        locked.requested_at + WATCH
    ):
        raise EmailChangeRefused(
            gettext(
                "This link is no longer valid: the change was cancelled already, "
                "or the link expired."
            )
        )
    later = EmailChange.objects.filter(
        user_id=user.pk,
        pk__gt=locked.pk,  # made after it (clocks may tie)
        status__in=(Status.PENDING, Status.DONE),
    )
    if user.email not in (locked.old_email, locked.new_email) or later.exists():
        raise EmailChangeRefused(
            gettext(
                "This link no longer works: the account's email address was changed again "
                "after it was sent. If you did not ask for these changes, contact support."
            )
        )
    if locked.status == Status.DONE and user.email == locked.new_email:
        try:
            with transaction.atomic():
                User.objects.filter(pk=user.pk).update(email=locked.old_email)
                user.email = locked.old_email
        except IntegrityError:
            pass  # the old address was taken meanwhile: support sorts it out in the case
    locked.status, locked.cancelled_at = Status.CANCELLED, timezone.now()
    locked.save(update_fields=["status", "cancelled_at"])
    ended = end_all_sessions(user)
    restored = user.email == locked.old_email
    record(
        type=SecurityEvent.Type.EMAIL_CHANGE_CANCELLED,
        subject=user,
        request=request,
        old_email=locked.old_email,
        new_email=locked.new_email,
        old_email_restored=restored,
        sessions_ended=ended,
    )
    change.refresh_from_db()
    return restored


def watched_change(email: str, *, at) -> EmailChange | None:
    """The latest change from or to `email` requested within WATCH before `at`: a
    recovery request from either address then is flagged for support."""
    email = normalize_email(email)
    changes = EmailChange.objects.filter(
        Q(old_email=email) | Q(new_email=email),
        requested_at__lte=at,
        requested_at__gt=at - WATCH,
    )
    return changes.exclude(status=Status.REPLACED).select_related("user").first()
