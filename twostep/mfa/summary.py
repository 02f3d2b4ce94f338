"""What an account's two-factor methods look like to its owner (Settings) and to support
(the case page, the account summary): kinds, key names and dates, codes left. Never a
secret, a code or a hash."""

from dataclasses import dataclass
from datetime import datetime

from twostep.accounts.models import User

from . import recovery_codes
from .factors import active_device, second_factor_on
from .models import SecurityKey


@dataclass(frozen=True)
class KeyInfo:
    pk: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    passkey: bool  # synced or discoverable: can log in without a password


@dataclass(frozen=True)
class Methods:
    on: bool
    app_since: datetime | None
    keys: list[KeyInfo]
    codes_left: int | None  # None: no set

    @property
    def codes_low(self) -> bool:
        return self.codes_left is not None and self.codes_left <= recovery_codes.LOW

    @property
    def kinds(self) -> list[str]:
        kinds = ["app"] if self.app_since else []
        kinds += ["key"] if self.keys else []
        return kinds + (["recovery_codes"] if self.codes_left else [])


def methods_of(user: User) -> Methods:
    """The account's methods: two small queries (keys, codes left) beside the preloaded
    app and MfaState."""
    device = active_device(user)
    keys = [
        KeyInfo(
            pk=key.pk,
            name=key.name,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            passkey=bool(key.discoverable or key.backup_eligible),
        )
        for key in SecurityKey.objects.filter(user=user).only(
            "name", "created_at", "last_used_at", "discoverable", "backup_eligible"
        )
    ]
    return Methods(
        on=second_factor_on(user),
        app_since=device.confirmed_at if device else None,
        keys=keys,
        codes_left=recovery_codes.codes_left(user),
    )
