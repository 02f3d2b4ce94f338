"""One-time recovery codes: the self-service way back when the app or key is lost.

A set is 10 codes of 20 Crockford base32 characters from `secrets` (100 bits each), shown
as XXXX-XXXX-XXXX-XXXX-XXXX. The first group (`lookup`, 20 bits) is stored in clear, unique
within the set, so a check finds its one candidate row and costs one argon2id verification
(NIST SP 800-63B asks a secret under 112 bits to be salted and hashed with a
password-hashing function); the other 16 characters (80 bits, above the issue's 64 even
though the lookup is readable) are hashed with Django's argon2id hasher. Input ignores
case, spaces and hyphens, and reads Crockford's I and L as 1, O as 0. A code is used up by
one conditional UPDATE of `used_at`: of two logins racing with the same code, one wins.
Codes are never stored, logged or emailed in clear; they exist in clear only in the one
response that shows them.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, make_password
from django.db import connections, router, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, record
from twostep.mail.services import queue_email

from . import throttle
from .checks import CodeCheck, Purpose, Reason
from .factors import factors_changed, second_factor_on
from .models import LOCK_AFTER, RECOVERY_CODES_PER_SET, MfaState, RecoveryCode

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
GROUP, GROUPS = 4, 5
LOW = 3  # at this many left or fewer, Settings warns and the use email says so
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_IGNORED = str.maketrans("", "", " -\t\n\r")


class RecoveryCodeHasher(Argon2PasswordHasher):
    """Django's argon2id with settings.TWOSTEP_RECOVERY_CODE_ARGON2 (OWASP's minimum by
    default): a code's hashed part is 80 random bits, so it needs salt and a
    password-hashing function, not a password's stretching. Checked by check_password,
    which reads the parameters from the stored hash."""

    time_cost, memory_cost, parallelism = settings.TWOSTEP_RECOVERY_CODE_ARGON2


_HASHER = RecoveryCodeHasher()


# A miss (no row with that lookup) verifies against this, so it costs what a hit costs.
# Made at import: the first miss must not take longer (two hashes) than later ones.
_DECOY_HASH = make_password(ALPHABET[: GROUP * (GROUPS - 1)], hasher=_HASHER)


class NoSecondFactor(Exception):
    """Recovery codes without a method to recover: they never turn 2FA on alone."""


@dataclass(frozen=True)
class RecoveryCheck(CodeCheck):
    """A CodeCheck that also says how many unused codes are left after an accepted one."""

    left: int | None = None


@dataclass(frozen=True)
class IssuedSet:
    """A new set: the codes in clear (to be shown once) and how many old codes it replaced."""

    codes: list[str]
    replaced: int


def new_code() -> str:
    """One code: 20 characters (100 bits) from `secrets`, grouped by four with hyphens."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(GROUP * GROUPS))
    return "-".join(chars[i : i + GROUP] for i in range(0, len(chars), GROUP))


def parse(text: str) -> tuple[str, str] | None:
    """(lookup, secret part) of a code as typed, or None when it cannot be one."""
    chars = text.upper().translate(_IGNORED).translate(_READ_AS)
    if len(chars) != GROUP * GROUPS or any(c not in ALPHABET for c in chars):
        return None
    return chars[:GROUP], chars[GROUP:]


def issue(user: User, *, request: HttpRequest | None, replace: bool = True) -> list[str] | None:
    """The codes of `issue_set` (None when it made none)."""
    issued = issue_set(user, request=request, replace=replace)
    return None if issued is None else issued.codes


def issue_set(user: User, *, request: HttpRequest | None, replace: bool = True) -> IssuedSet | None:
    """A new set of codes for the account, replacing the whole old set; the codes in clear,
    to be shown once, and how many old codes went. With `replace=False` (the first set,
    issued when 2FA is turned on), nothing happens and None is returned when the account
    already has codes. The caller has checked a proof: this function checks none.

    Raises NoSecondFactor when 2FA is off. Records RECOVERY_CODES_GENERATED, forgets the
    account's remembered browsers and emails the owner, in the transaction that writes the
    set.
    """
    codes: list[str] = []
    while len({c[:GROUP] for c in codes}) < RECOVERY_CODES_PER_SET:
        candidate = new_code()
        if all(candidate[:GROUP] != c[:GROUP] for c in codes):
            codes.append(candidate)
    now = timezone.now()
    rows = [
        RecoveryCode(
            user=user,
            lookup=code[:GROUP],
            code_hash=make_password(code.replace("-", "")[GROUP:], hasher=_HASHER),
            created_at=now,
        )
        for code in codes
    ]
    with transaction.atomic():
        # Under the account's MfaState lock: a method removed meanwhile, or a second set
        # made at the same moment, is seen here.
        state = MfaState.objects.select_for_update().filter(user=user).first()
        if state is None or state.methods == 0:
            raise NoSecondFactor
        existing = RecoveryCode.objects.filter(user=user)
        if not replace and existing.exists():
            return None
        replaced = existing.delete()[0]
        RecoveryCode.objects.bulk_create(rows)
        reason = "recovery codes regenerated" if replaced else "recovery codes generated"
        factors_changed(user, request=request, reason=reason)
        record(
            type=SecurityEvent.Type.RECOVERY_CODES_GENERATED,
            subject=user,
            request=request,
            count=len(rows),
            replaced=replaced,
        )
        queue_email(
            to=user.email,
            template="recovery_codes_generated",
            context={"user": user, "count": len(rows), "replaced": bool(replaced)},
        )
    return IssuedSet(codes, replaced)


def with_codes_left(users: QuerySet[User]) -> QuerySet[User]:
    """`users` annotated with `recovery_codes_left`: unused codes, or None when the account
    has no set at all. Costs no statement of its own (a subquery of the user's load)."""
    left = (
        RecoveryCode.objects.filter(user=OuterRef("pk"))
        .values("user")
        .annotate(left=Count("pk", filter=Q(used_at__isnull=True)))
        .values("left")
    )
    return users.annotate(recovery_codes_left=Subquery(left))


def codes_left(user: User) -> int | None:
    """Unused codes of the account, or None when it has no set (read from the
    `with_codes_left` annotation when the user came with it)."""
    if hasattr(user, "recovery_codes_left"):
        return user.recovery_codes_left
    codes = RecoveryCode.objects.filter(user=user)
    if not codes.exists():
        return None
    return codes.filter(used_at__isnull=True).count()


def ran_out(user: User) -> bool:
    """2FA is on and every code of the set is used: time to generate new ones."""
    return second_factor_on(user) and codes_left(user) == 0


def verify_recovery_code(
    *, user: User, code: str, request: HttpRequest | None, purpose: Purpose
) -> RecoveryCheck:
    """Judge a recovery code of `user` and use it up; never raises for bad input.

    Shares the second step's throttle with every factor. One row is read (by its lookup)
    and one hash verified, also when no row matches, so timing tells nothing.
    """
    parsed = parse(code)
    if parsed is None:
        return RecoveryCheck(False, Reason.MALFORMED, malformed())
    lookup, rest = parsed
    now = timezone.now()
    refusal = throttle.refusal(throttle.state_of(user), now=now)
    if refusal:
        return _as_recovery(refusal)
    row = RecoveryCode.objects.filter(user=user, lookup=lookup).only("code_hash", "used_at").first()
    if not check_password(rest, row.code_hash if row else _DECOY_HASH) or row is None:
        check = throttle.record_failure(
            user,
            request=request,
            purpose=purpose,
            method="recovery_code",
            message=wrong(),
            now=now,
        )
        return _as_recovery(check)
    if row.used_at is None and _use(row.pk, user.pk, now):
        throttle.record_success(user)
        return RecoveryCheck(True, left=_report_use(user, request=request, purpose=purpose))
    # Refused at write time: the throttle another request raised meanwhile, or a reuse.
    current = throttle.refusal(throttle.ensure_state(user), now=now)
    if current:
        return _as_recovery(current)
    record(
        type=SecurityEvent.Type.CODE_REUSE,
        subject=user,
        request=request,
        purpose=purpose,
        method="recovery_code",
    )
    return RecoveryCheck(False, Reason.REUSED, used())


_USE = (
    f"UPDATE {RecoveryCode._meta.db_table} SET used_at = %s"  # noqa: S608
    " WHERE id = %s AND used_at IS NULL" + throttle.NOT_HELD_BACK
)


def _use(pk: int, user_id: int, now: datetime) -> bool:
    """Use the code up in one conditional UPDATE, re-checking the throttle. True if won."""
    connection = connections[router.db_for_write(RecoveryCode)]
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_USE, [stamp, pk, user_id, LOCK_AFTER, stamp])
        return cursor.rowcount == 1


def _report_use(user: User, *, request: HttpRequest | None, purpose: Purpose) -> int:
    with transaction.atomic():
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        record(
            type=SecurityEvent.Type.RECOVERY_CODE_USED,
            subject=user,
            request=request,
            purpose=purpose,
            left=left,
        )
        if left <= LOW:
            record(
                type=SecurityEvent.Type.RECOVERY_CODES_LOW, subject=user, request=request, left=left
            )
        queue_email(
            to=user.email,
            template="recovery_code_used",
            context={"user": user, "left": left, "low": left <= LOW, "ip": client_ip(request)},
        )
    user.recovery_codes_left = left  # type: ignore[attr-defined]
    return left


def _as_recovery(check: CodeCheck) -> RecoveryCheck:
    return RecoveryCheck(check.accepted, check.reason, check.message, check.retry_at)


def malformed() -> str:
    return gettext(
        "Enter one of your recovery codes: 20 letters and digits, like ABCD-EFGH-JKMN-PQRS-TVWX."
    )


def wrong() -> str:
    return gettext("That recovery code is not right. Check it and try again.")


def used() -> str:
    return gettext("That recovery code has already been used. Try another one.")
