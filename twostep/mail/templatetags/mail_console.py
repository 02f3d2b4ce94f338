"""For the support console: whether the background worker is alive, and how many emails
could not be delivered."""

from django import template

from twostep.mail.liveness import worker_health
from twostep.mail.models import OutgoingEmail

register = template.Library()


@register.inclusion_tag("mail/console_notice.html")
def mail_console_notice(failed_emails_url: str) -> dict:
    return {
        "health": worker_health(),
        "failed": OutgoingEmail.objects.filter(status=OutgoingEmail.Status.FAILED).count(),
        "failed_emails_url": failed_emails_url,
    }
