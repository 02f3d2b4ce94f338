"""The admin's read-only list of security keys and passkeys (mfa/admin.py loads it).
Nothing here is secret, but nothing is changed here either: a key is added by its owner's
browser, and removed by its owner or by a verified recovery case."""

from django.contrib import admin
from django.http import HttpRequest

from ..models import SecurityKey


@admin.register(SecurityKey)
class SecurityKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "discoverable", "backed_up", "created_at", "last_used_at"]
    list_filter = ["discoverable", "backup_eligible"]
    search_fields = ["user__email", "user__full_name", "name"]
    list_select_related = ["user"]
    fields = readonly_fields = (
        "user",
        "name",
        "credential_id",
        "sign_count",
        "transports",
        "aaguid",
        "backup_eligible",
        "backed_up",
        "discoverable",
        "created_at",
        "last_used_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SecurityKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SecurityKey | None = None) -> bool:
        return False
