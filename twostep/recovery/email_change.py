"""The old address's "cancel the change" link: the email change undone (accounts) and a
support case opened or joined for the account, in one transaction. Here, above both, since
recovery stands on accounts.

Recovery requests from either address of a change are flagged by email_watch.
"""

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from twostep.accounts import email_change, email_change_links
from twostep.accounts.models import EmailChange, User

from .cases import open_or_join, send_links
from .intake import OPENED, UNVERIFIED_CLAIM
from .models import RecoveryCase, RecoveryRequest


def cancel_and_open_case(*, request: HttpRequest, change: EmailChange) -> bool:
    """Cancel (or undo) the change and open or join the account's support case, with a
    request from the old address recording why. Returns whether the account has its old
    address back. Raises EmailChangeRefused, changing nothing, for a link used already or
    expired."""
    now = timezone.now()
    with transaction.atomic():
        restored = email_change.cancel(request=request, change=change)
        account = User.objects.get(pk=change.user_id)  # locked by cancel()
        case, opened = open_or_join(
            account=account, source=RecoveryCase.Source.EMAIL_CHANGE, now=now
        )
        mail_links = restored and not case.mailbox_confirmed
        RecoveryRequest.objects.create(
            source=RecoveryCase.Source.EMAIL_CHANGE,
            claimed_email=change.old_email,
            explanation=(
                f"The account's old address cancelled a change of its email to "
                f"{change.new_email} with the link mailed to it."
            ),
            sender=f"cancel link of email change #{change.pk}",
            outcome=OPENED if opened else UNVERIFIED_CLAIM,
            email_change=change,
            case=case,
            mailed_links=mail_links,
            created_at=now,
        )
        # The case's links go to the old address, given back; never to the new one: it may
        # belong to whoever asked for the change.
        if mail_links:
            send_links(case)
    return restored


@require_http_methods(["GET", "POST"])
def cancel_view(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """The link in the emails to the old address: a button, then the change cancelled."""
    change = email_change_links.find(pk=pk, token=token, purpose="cancel")
    problem = gettext("This link is invalid or no longer works.")
    if change is not None and request.method == "POST":
        try:
            restored = cancel_and_open_case(request=request, change=change)
        except email_change.EmailChangeRefused as refused:
            problem = str(refused)
        else:
            if request.user.pk == change.user_id:  # its session was ended with the others
                request.session.flush()
            context = {"change": change, "restored": restored}
            return render(request, "recovery/email_change_cancelled.html", context)
    elif change is not None and change.status in (
        EmailChange.Status.PENDING,
        EmailChange.Status.DONE,
    ):
        return render(request, "recovery/email_change_cancel.html", {"change": change})
    return render(request, "accounts/email_link_invalid.html", {"message": problem}, status=400)
