"""Names staff type in the admin end up in email headers too: one line, no control
characters."""

import pytest

from twostep.accounts.admin import AdminUserChangeForm, AdminUserCreationForm

REFUSED = "no line breaks or control characters"


@pytest.mark.parametrize("name", ["Ada\r\nLovelace", "Ada\x1bLovelace", "Ada\u2028Lovelace"])
def test_the_admin_refuses_a_name_with_control_characters_when_adding(db, name):
    form = AdminUserCreationForm(
        data={
            "email": "grace@example.com",
            "full_name": name,
            "password1": "nanoseconds and bugs",
            "password2": "nanoseconds and bugs",
        }
    )

    assert not form.is_valid()
    assert REFUSED in " ".join(form.errors["full_name"])


def test_the_admin_refuses_a_name_with_control_characters_when_changing(user):
    data = {
        "email": user.email,
        "full_name": "Ada\nBcc: everyone@example.com",
        "is_active": True,
        "date_joined": "2026-01-01 00:00:00",
    }
    form = AdminUserChangeForm(data=data, instance=user)

    assert not form.is_valid()
    assert REFUSED in " ".join(form.errors["full_name"])
    user.refresh_from_db()
    assert user.full_name == "Ada Lovelace"
