from typing import cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from twostep.accounts.models import User

from .models import MfaState, RecoveryCode, SecurityKey, TOTPDevice
from .throttle import clear_lock


class ReadOnlyAdmin(admin.ModelAdmin):
    """Factors are never added, changed or removed from here: 2FA changes go through the
    owner's own pages or a verified recovery case."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(ReadOnlyAdmin):
    """Read-only view of authenticators: the secret is never shown."""

    list_display = ["user", "confirmed_at", "created_at"]
    list_filter = ["confirmed_at"]
    search_fields = ["user__email", "user__full_name"]
    fields = readonly_fields = ("user", "created_at", "confirmed_at", "last_used_step")


@admin.register(MfaState)
class MfaStateAdmin(ReadOnlyAdmin):
    """The account's method count and the second step's shared throttle; support may clear
    the throttle and lock."""

    list_display = ["user", "methods", "failure_count", "next_try_at", "is_locked"]
    search_fields = ["user__email", "user__full_name"]
    fields = readonly_fields = ("user", "methods", "failure_count", "next_try_at")
    actions = ["clear_lock"]

    @admin.display(boolean=True, description="Locked")
    def is_locked(self, state: MfaState) -> bool:
        return state.is_locked

    def has_clear_lock_permission(self, request: HttpRequest) -> bool:
        """Clearing the lock changes the account's state: staff who may only view MfaState
        do not get the action (the admin's own change permission is always refused here)."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Clear the wrong-code throttle and lock", permissions=["clear_lock"])
    def clear_lock(self, request: HttpRequest, queryset: QuerySet[MfaState]) -> None:
        cleared = sum(
            clear_lock(
                actor=cast(User, request.user),
                user=state.user,
                reason="cleared in the admin",
                request=request,
            )
            for state in queryset.select_related("user")
        )
        messages.success(
            request,
            ngettext("Cleared %(n)d account.", "Cleared %(n)d accounts.", cleared) % {"n": cleared},
        )


@admin.register(SecurityKey)
class SecurityKeyAdmin(ReadOnlyAdmin):
    list_display = ["user", "name", "created_at", "last_used_at", "backed_up", "discoverable"]
    search_fields = ["user__email", "user__full_name", "name"]
    fields = readonly_fields = (
        "user",
        "name",
        "created_at",
        "last_used_at",
        "sign_count",
        "transports",
        "aaguid",
        "backup_eligible",
        "backed_up",
        "discoverable",
    )


@admin.register(RecoveryCode)
class RecoveryCodeAdmin(ReadOnlyAdmin):
    """Which codes exist and whether they were used; never the hash."""

    list_display = ["user", "created_at", "used_at"]
    list_filter = ["used_at"]
    search_fields = ["user__email", "user__full_name"]
    fields = readonly_fields = ("user", "created_at", "used_at")
