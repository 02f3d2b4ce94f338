"""Decisions about another account wait for a recent 'confirm it's you': a support
agent's approval or rejection, and a manager's vouch answer. What they typed comes back
filled in after confirming; actions that decide nothing (assigning, the checklist, asking
a manager, writing to the person) are not held up."""

import pytest
from django.test import Client

from tests.helpers import confirm_again, verified_session
from tests.recovery.conftest import (
    Status,
    Type,
    action_url,
    ask_charles,
    case_events,
    case_url,
    page_messages,
)
from twostep.recovery.models import Vouch

WINDOW = 600


def confirm_url(next_url: str) -> str:
    return f"/confirm/?next={next_url.replace('/', '%2F')}"


@pytest.mark.parametrize(
    ("action", "data", "done"),
    [
        (
            "approve",
            {"typed_email": "ada@example.com", "reason": "checked by phone"},
            Type.CASE_FIRST_APPROVAL,  # no manager to vouch: a second agent approves next
        ),
        ("reject", {"reason": "Could not reach her manager."}, Type.CASE_REJECTED),
    ],
)
def test_a_decision_after_the_window_asks_to_confirm_and_comes_back_filled(
    agent, checked_case, frozen, action, data, done
):
    frozen.shift(WINDOW + 1)
    response = agent.post(action_url(checked_case, action), data)

    assert response["Location"] == confirm_url(case_url(checked_case))
    checked_case.refresh_from_db()
    assert checked_case.status == Status.IN_VERIFICATION
    assert not case_events(checked_case, Type.CASE_APPROVED)
    assert not case_events(checked_case, Type.CASE_REJECTED)

    confirm_again(agent)
    page = agent.get(case_url(checked_case))
    assert page.context[f"{action}_form"].initial == data
    other = page.context["reject_form" if action == "approve" else "approve_form"]
    assert not other.initial
    agent.post(action_url(checked_case, action), data)
    assert case_events(checked_case, done)


def test_actions_that_decide_nothing_go_ahead_after_the_window(
    agent, charles, verified_case, frozen
):
    frozen.shift(WINDOW + 1)
    response = agent.post(action_url(verified_case, "assign"), follow=True)
    assert "The case is assigned to you." in page_messages(response)
    assert ask_charles(agent, verified_case)


def test_a_managers_vouch_answer_after_the_window_asks_to_confirm(
    agent, charles, verified_case, frozen
):
    ask_charles(agent, verified_case)
    vouch = Vouch.objects.get()
    manager = verified_session(Client(), charles)
    link = f"/vouch/{vouch.pk}/"
    frozen.shift(WINDOW + 1)
    assert manager.get(link).status_code == 200  # reading the question needs nothing

    refused = manager.post(link, {"answer": "deny", "comment": "Not her handwriting."})

    assert refused["Location"] == confirm_url(link)
    assert Vouch.objects.get().answer == Vouch.Answer.PENDING
    confirm_again(manager)
    page = manager.get(link)
    assert page.context["form"].initial == {"answer": "deny", "comment": "Not her handwriting."}
    assert 'value="deny" required id="id_answer_1" checked' in page.text
    manager.post(link, {"answer": "deny", "comment": "Not her handwriting."})
    assert Vouch.objects.get().answer == Vouch.Answer.DENIED


def test_a_decision_is_not_filled_in_before_the_agent_has_confirmed(agent, checked_case, frozen):
    frozen.shift(WINDOW + 1)
    data = {"reason": "Could not reach her manager."}
    agent.post(action_url(checked_case, "reject"), data)

    assert not agent.get(case_url(checked_case)).context["reject_form"].initial  # not yet
    confirm_again(agent)
    assert agent.get(case_url(checked_case)).context["reject_form"].initial == data


def test_an_abandoned_decision_is_not_filled_in_later(agent, checked_case, frozen):
    frozen.shift(WINDOW + 1)
    agent.post(action_url(checked_case, "reject"), {"reason": "Could not reach her manager."})
    frozen.shift(WINDOW)  # the agent confirms much later, for something else
    confirm_again(agent)

    assert not agent.get(case_url(checked_case)).context["reject_form"].initial
