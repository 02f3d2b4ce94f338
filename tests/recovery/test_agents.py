"""The one rule on who acts for support (agents.may_act_on), and a case's conversation,
which the case owns and which goes with it."""

from twostep.chat.models import Conversation
from twostep.recovery.agents import may_act_on
from twostep.recovery.models import RecoveryCase


def test_an_agent_may_act_on_any_account_but_their_own(grace, ada):
    assert may_act_on(agent=grace, account_id=ada.pk)
    assert may_act_on(agent=grace, account_id=None)
    assert not may_act_on(agent=grace, account_id=grace.pk)


def test_a_case_opens_with_a_conversation_of_its_own(case):
    assert case.conversation.kind == Conversation.Kind.CASE
    assert case.conversation.user is None


def test_deleting_the_account_deletes_its_cases_and_their_conversations(ada, case):
    conversation_id = case.conversation_id

    ada.delete()

    assert not RecoveryCase.objects.filter(pk=case.pk).exists()
    assert not Conversation.objects.filter(pk=conversation_id).exists()
