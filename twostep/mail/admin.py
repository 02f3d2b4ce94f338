from django.contrib import admin, messages
from django.utils.translation import gettext_lazy, ngettext

from .models import OutgoingEmail, WorkerHeartbeat
from .services import requeue_failed


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to", "subject", "status", "attempts", "last_error", "sent_at"]
    list_filter = ["status"]
    search_fields = ["to", "subject"]
    # The body may carry a password-reset link: not shown to staff.
    exclude = ["body"]
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields if f.name != "body"]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=gettext_lazy("Re-send the selected emails that were not delivered"))
    def resend(self, request, queryset):
        """Each re-sent email is logged in the admin's history under the acting staff member."""
        resent = 0
        for email in queryset.filter(status=OutgoingEmail.Status.FAILED).defer("body"):
            if requeue_failed(email=email):
                self.log_change(request, email, "Re-sent (queued again)")
                resent += 1
        message = ngettext("%d email queued again.", "%d emails queued again.", resent)
        self.message_user(
            request, message % resent, messages.SUCCESS if resent else messages.WARNING
        )


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["host", "pid", "started_at", "last_pass_at"]
    readonly_fields = ["host", "pid", "started_at", "last_pass_at"]

    def has_add_permission(self, request):
        return False
