from typing import cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from twostep.accounts.models import User

from .models import TOTPDevice
from .verification import clear_lock
from .webauthn import admin as webauthn_admin  # noqa: F401  (registers SecurityKeyAdmin)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    """Read-only view of authenticators: the secret is never shown, and 2FA is never
    removed from here (a reset goes through a verified recovery case)."""

    list_display = ["user", "confirmed_at", "failure_count", "next_try_at", "is_locked"]
    list_filter = ["confirmed_at"]
    search_fields = ["user__email", "user__full_name"]
    fields = readonly_fields = (
        "user",
        "created_at",
        "confirmed_at",
        "last_used_step",
        "failure_count",
        "next_try_at",
    )
    actions = ["clear_lock"]

    @admin.display(boolean=True, description="Locked")
    def is_locked(self, device: TOTPDevice) -> bool:
        return device.is_locked

    @admin.action(description="Clear the wrong-code throttle and lock")
    def clear_lock(self, request: HttpRequest, queryset: QuerySet[TOTPDevice]) -> None:
        cleared = sum(
            clear_lock(
                actor=cast(User, request.user),
                user=device.user,
                reason="cleared in the admin",
                request=request,
            )
            for device in queryset.select_related("user")
        )
        messages.success(request, f"Cleared {cleared} authenticator(s).")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TOTPDevice | None = None) -> bool:
        return False
