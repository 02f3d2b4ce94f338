"""For the support console: whether the background worker is alive."""

from django import template

from twostep.mail.liveness import worker_health

register = template.Library()


@register.inclusion_tag("mail/worker_health.html")
def worker_health_notice() -> dict:
    return {"health": worker_health()}
