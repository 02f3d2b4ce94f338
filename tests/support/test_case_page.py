"""The support queue and the case page an agent works from."""

import base64
import re
from datetime import timedelta

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from tests.helpers import SECRET, add_membership, give_recovery_codes, verified_session
from tests.recovery.conftest import (
    ORGANIZATION,
    QUEUE,
    Type,
    case_events,
    case_url,
    confirm_as_owner,
    file_request,
)
from twostep.mfa.models import TOTPDevice
from twostep.recovery import decisions, verification

# The queue and the case page.


def test_queue_shows_each_open_case_with_status_age_and_assignee(agent, grace, make_user, frozen):
    add_membership(make_user(), ORGANIZATION)
    first = file_request()
    frozen.shift(3 * 60 * 60)
    make_user("bob@example.com", full_name="Bob Byron")
    second = file_request(email="bob@example.com", name="Bob Byron")
    assert first is not None and second is not None
    confirm_as_owner(second)
    verification.assign(actor=grace, case=first)

    response = agent.get(QUEUE)

    rows = {case.pk: case for case in response.context["cases"]}
    assert set(rows) == {first.pk, second.pk}
    text = response.text
    assert "Awaiting email confirmation" in text and "In verification" in text
    assert "3\xa0hours" in text  # the first case's age
    assert "Grace Hopper" in text  # its assignee
    assert f'href="{case_url(first)}"' in text and f'href="{case_url(second)}"' in text


def test_queue_filters_by_status(agent, grace, case):
    decisions.reject(actor=grace, case=case, reason="not her")

    assert list(agent.get(QUEUE).context["cases"]) == []
    assert list(agent.get(QUEUE, {"status": "rejected"}).context["cases"]) == [case]


def test_case_page_compares_the_claim_with_the_account(client, grace, ada, frozen):
    add_membership(ada, "Difference Engines")
    ada.last_login = last_login = ada.date_joined + timedelta(days=3)
    ada.save(update_fields=["last_login"])
    frozen.shift(40 * 24 * 60 * 60)
    case = file_request(name="  ada   LOVELACE ", organizations="Analytical Engines, Evil Corp")
    assert case is not None
    confirm_as_owner(case)
    agent = verified_session(client, grace)

    response = agent.get(case_url(case))

    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert comparison.name_matches
    assert comparison.matched_organizations == ["Analytical Engines"]
    assert comparison.unmatched_claims == ["Evil Corp"]
    assert [m.organization.name for m in comparison.other_memberships] == ["Difference Engines"]
    text = response.text
    assert '<tr class="match"><th>Name</th>' in text
    assert '<span class="tag ok">Analytical Engines</span>' in text
    assert '<span class="tag bad" title="not a membership">Evil Corp</span>' in text
    assert "Difference Engines (member)" in text
    assert "confirmed" in text  # the mailbox row
    assert "<dt>Account age</dt><dd>1\xa0month" in text
    assert f"<dt>Last login</dt><dd>{date_format(localtime(last_login), 'j M Y, H:i')}" in text
    assert "2FA recovery requested" in text  # recent security events
    assert "Recovery request confirmed by email" in text


def test_case_page_flags_a_name_that_does_not_match(agent, ada):
    case = file_request(name="Mallory Moriarty")
    assert case is not None
    assert "not confirmed yet" in agent.get(case_url(case)).text
    confirm_as_owner(case)

    response = agent.get(case_url(case))

    assert not response.context["comparison"].name_matches
    assert '<tr class="mismatch"><th>Name</th><td>Mallory Moriarty</td>' in response.text


def test_case_page_never_shows_the_secret(agent, verified_case):
    response = agent.get(case_url(verified_case))

    device = TOTPDevice.objects.get(user=verified_case.account)
    assert base64.b32encode(SECRET).decode() not in response.text
    assert SECRET.decode() not in response.text
    assert device.encrypted_secret not in response.text


def test_viewing_a_case_is_recorded(agent, grace, verified_case):
    agent.get(case_url(verified_case))

    (event,) = case_events(verified_case, Type.CASE_VIEWED)
    assert (event.actor, event.subject) == (grace, verified_case.account)
    assert "reason" in event.details


def test_invalid_case_number_is_404(agent, db):
    assert agent.get(reverse("support:case_detail", kwargs={"pk": 999})).status_code == 404


def test_case_page_gives_every_field_its_own_id(agent, checked_case):
    page = agent.get(case_url(checked_case)).text

    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for label in re.findall(r'<label for="([^"]+)"', page):
        assert label in ids


def test_case_page_shows_the_accounts_methods_never_a_code(agent, verified_case):
    codes = give_recovery_codes(verified_case.account)

    text = agent.get(case_url(verified_case)).text

    assert '<dd data-testid="account-2fa"><span class="status on">On</span></dd>' in text
    assert "Authenticator app" in text
    assert '<dd data-testid="account-codes">10 left</dd>' in text
    assert not any(code in text for code in codes)
