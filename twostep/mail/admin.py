from django.contrib import admin

from .models import OutgoingEmail


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    search_fields = ["to", "subject"]
    # The body may carry a password-reset link: not shown to staff.
    exclude = ["body"]
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields if f.name != "body"]

    def has_add_permission(self, request):
        return False
