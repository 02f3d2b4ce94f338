"""Support answers from the chat inbox: on a case's conversation as on the case page (the
person is emailed the case link), otherwise in the person's own conversation."""

from twostep.accounts.models import User
from twostep.chat import services as chat
from twostep.chat.models import Conversation
from twostep.recovery.agents import may_act_on
from twostep.recovery.cases import RecoveryError
from twostep.recovery.notices import write_to_person

from .selectors import case_of


def reply(*, agent: User, conversation: Conversation, body: str) -> None:
    """Post the agent's answer. Raises MessageRefused for bad text, and when the
    conversation is about the agent's own account (their chat, or a case on it): another
    agent answers."""
    case = case_of(conversation)
    if case is not None:
        try:
            write_to_person(actor=agent, case=case, body=body)
        except RecoveryError as error:
            raise chat.MessageRefused(str(error)) from error
        return
    if not may_act_on(agent=agent, account_id=conversation.user_id):
        raise chat.MessageRefused(
            "This conversation is about your own account: another agent answers it."
        )
    chat.post(conversation=conversation, body=body, author=agent, from_support=True)
