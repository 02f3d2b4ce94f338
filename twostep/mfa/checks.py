"""The verdict on one submitted proof (an app code, a recovery code, a security key's
assertion), shared by every factor's judge and by the throttle they share."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

Purpose = Literal["login", "enrol", "confirm"]
"""Why a proof is checked; it decides which emails a failure sends."""


class Reason(StrEnum):
    """Why a proof was refused; ACCEPTED ("") when it was not."""

    ACCEPTED = ""
    MALFORMED = "malformed"
    WRONG = "wrong"
    CLOCK_SKEW = "clock_skew"
    REUSED = "reused"
    THROTTLED = "throttled"
    LOCKED = "locked"
    OFF = "off"  # 2FA was turned off (or already off): nothing left to judge the proof against


@dataclass(frozen=True)
class CodeCheck:
    """The verdict on one submitted proof. `message` is safe to show the person."""

    accepted: bool
    reason: Reason = Reason.ACCEPTED
    message: str = ""
    retry_at: datetime | None = None

    @classmethod
    def ok(cls) -> "CodeCheck":
        return cls(accepted=True)
