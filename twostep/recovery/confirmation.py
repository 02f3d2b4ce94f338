"""The account's own mailbox answers a case: the owner confirms which request is theirs (its
words become the person's), or says none was, which cancels the case in their name."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from twostep.audit.models import SecurityEvent
from twostep.mail.services import queue_email

from .cases import RecoveryError, Status, close_case, record_case_event
from .intake import OPENED, UNVERIFIED_CLAIM
from .models import RecoveryCase, RecoveryRequest

NOT_THE_OWNER = "the owner said the request was not theirs (confirm link)"


def confirm_mailbox(
    *, case: RecoveryCase, request_id: int | None, none_of_these: bool = False
) -> None:
    """The account's mailbox opened the confirm link and its owner said which request is
    theirs (`request_id`, any request the case kept, shown or not): its words become the
    person's (name, organizations, explanation); the others stay claims. With
    `none_of_these`, the mailbox is confirmed and no request's words are adopted (the owner
    then writes through the case link). `request_id` may be None only for a case with no
    request. Raises RecoveryError for a request that is not one of the case's."""
    with transaction.atomic():
        locked = RecoveryCase.objects.select_for_update().get(pk=case.pk)
        if locked.mailbox_confirmed or not locked.is_open:
            return
        if locked.account_id is None:
            raise RecoveryError(gettext("This link is invalid or no longer works."))
        chosen = None
        if not none_of_these:
            kept = locked.requests.filter(outcome__in=(OPENED, UNVERIFIED_CLAIM))
            chosen = kept.filter(pk=request_id).first() if request_id is not None else None
            if chosen is None and (request_id is not None or kept.exists()):
                raise RecoveryError(gettext("Choose the request that is yours."))
        now = timezone.now()
        if chosen is not None:
            RecoveryRequest.objects.filter(pk=chosen.pk).update(verified_at=now)
            locked.claimed_name = chosen.claimed_name
            locked.claimed_organizations = chosen.claimed_organizations
            locked.explanation = chosen.explanation
        locked.mailbox_confirmed_at = now
        locked.confirm_token_hash = ""
        if locked.status in (Status.NEW, Status.AWAITING_CONFIRMATION):
            locked.status = Status.IN_VERIFICATION
        locked.updated_at = now
        locked.save()
        record_case_event(
            SecurityEvent.Type.RECOVERY_MAILBOX_CONFIRMED,
            case=locked,
            actor=None,
            confirmed_request=chosen.pk if chosen else None,
            words_adopted=chosen is not None,
        )
    case.refresh_from_db()


def disown(*, case: RecoveryCase) -> bool:
    """The owner, through the confirm link, says the request was not theirs: the case is
    cancelled in their name and they are emailed. Returns whether it was still open (False
    too for a case whose account is gone: nobody is left to speak for)."""
    if case.account is None:
        return False
    with transaction.atomic():
        cancelled = close_case(
            case,
            status=Status.CANCELLED,
            actor=case.account,
            reason=NOT_THE_OWNER,
            event=SecurityEvent.Type.CASE_CANCELLED,
        )
        if cancelled:
            queue_email(
                to=case.account.email,
                template="recovery_disowned",
                context={"user": case.account, "case": case},
            )
    return cancelled
