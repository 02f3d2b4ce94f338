"""The support console's side of the mail queue: emails that could not be delivered, and
re-sending one. The list never shows a body: it may hold a one-time link."""

from typing import cast

from django.contrib import messages
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from twostep.accounts.models import User, normalize_email
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import requeue_failed, resendable

from .access import support_required

FAILED_SHOWN = 200


def resend_failed_email(*, actor: User, email: OutgoingEmail, request: HttpRequest) -> bool:
    """Queue a failed email again and record who did (a security event about the account
    it was addressed to, if any). False, nothing recorded, when it was no longer failed."""
    with transaction.atomic():
        if not requeue_failed(email=email):
            return False
        record(
            type=SecurityEvent.Type.EMAIL_RESENT,
            subject=User.objects.filter(email=normalize_email(email.to)).first(),
            actor=actor,
            request=request,
            email=email.pk,
            email_subject=email.subject,
            attempts=email.attempts,
        )
    return True


# Views: staff whose login used 2FA, as the rest of the console.


@support_required
def failed_emails(request: HttpRequest) -> HttpResponse:
    failed = (
        OutgoingEmail.objects.filter(status=OutgoingEmail.Status.FAILED)
        .defer("body")
        .annotate(can_resend=Exists(resendable(OutgoingEmail.objects.filter(pk=OuterRef("pk")))))
    )
    return render(
        request,
        "support/failed_emails.html",
        {"section": "cases", "emails": failed.order_by("-created_at")[:FAILED_SHOWN]},
    )


@require_POST
@support_required
def resend_email(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(OutgoingEmail.objects.defer("body"), pk=pk)
    agent = cast(User, request.user)
    if resend_failed_email(actor=agent, email=email, request=request):
        messages.success(request, _("The email to %(to)s is queued again.") % {"to": email.to})
    else:
        messages.warning(request, _("That email was not waiting to be re-sent."))
    return redirect("support:failed_emails")
