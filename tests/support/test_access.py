"""Who may use the support console: staff whose session passed 2FA, and no one else."""

from django.urls import reverse

from tests.helpers import enable_2fa, log_in, verified_session
from tests.recovery.conftest import QUEUE, Type, action_url, case_events, case_url
from twostep.mfa.factors import remove_factors

# Who may use the console.


def test_anonymous_visitor_is_sent_to_the_login_page(client, db):
    response = client.get(QUEUE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login:login')}?next={QUEUE}"


def test_staff_without_2fa_is_refused(client, make_user):
    verified_session(client, make_user("staff@example.com", is_staff=True))

    assert client.get(QUEUE).status_code == 403


def test_non_staff_with_2fa_is_refused(client, charles):
    verified_session(client, charles)

    assert client.get(QUEUE).status_code == 403


def test_staff_with_2fa_whose_session_skipped_the_code_is_refused(client, grace):
    client.force_login(grace)  # a session not marked as having passed the second factor

    assert client.get(QUEUE).status_code == 403


def test_staff_logged_in_with_password_and_code_gets_the_console(client, grace):
    log_in(client, grace)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert "Recovery cases" in response.text


def test_case_page_and_actions_are_refused_to_non_agents(client, charles, verified_case):
    verified_session(client, charles)

    assert client.get(case_url(verified_case)).status_code == 403
    assert client.post(action_url(verified_case, "assign")).status_code == 403
    verified_case.refresh_from_db()
    assert verified_case.assignee is None
    assert not case_events(verified_case, Type.CASE_VIEWED)


def test_an_agent_who_turns_2fa_off_loses_the_console_and_the_admin(client, make_user):
    staff = make_user("staff@example.com", is_staff=True)
    enable_2fa(staff)
    verified_session(client, staff)
    assert client.get(QUEUE).status_code == 200
    assert client.get("/admin/").status_code == 200

    remove_factors(staff, reason="support reset")  # as disabling or a support reset does

    assert client.get(QUEUE).status_code == 403
    assert client.get("/admin/").status_code == 302
