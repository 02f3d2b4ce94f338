"""The demo data of `make run`, and the User manager it builds on."""

from io import StringIO

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command

from twostep.accounts.models import User
from twostep.mfa.models import TOTPDevice
from twostep.organizations.models import Membership, Organization


def roles(user: User) -> dict[str, str]:
    return {m.organization.name: m.role for m in user.memberships.all()}


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Organization.objects.count(), Membership.objects.count()


@pytest.fixture
def seeded(db):
    call_command("seed_demo", stdout=StringIO())


@pytest.mark.usefixtures("seeded")
def test_seed_demo_creates_ada_grace_and_sam_with_their_organizations():
    ada, grace, sam = (User.objects.get(email=f"{n}@example.com") for n in ("ada", "grace", "sam"))

    assert roles(ada) == {"Analytical Engines": "manager"}
    assert roles(grace) == {"Analytical Engines": "member", "Compiler Works": "member"}
    assert roles(sam) == {}
    assert [u.is_staff for u in (ada, grace, sam)] == [False, False, True]
    assert [u.full_name for u in (ada, grace, sam)] == [
        "Ada Lovelace",
        "Grace Hopper",
        "Sam Support",
    ]
    assert all(
        u.is_active and check_password("twostep-demo", u.password) for u in (ada, grace, sam)
    )
    assert not TOTPDevice.objects.exists()  # 2FA off for everyone


@pytest.mark.usefixtures("seeded")
def test_seed_demo_is_idempotent(capsys):
    before = counts()

    call_command("seed_demo")

    assert counts() == before == (3, 2, 3)
    assert "ada@example.com" in capsys.readouterr().out


def test_create_user_keeps_djangos_signature(db):
    user = User.objects.create_user("Grace@Example.COM", password=None, full_name="Grace Hopper")

    assert user.email == "grace@example.com"
    assert not user.has_usable_password()
    assert (user.is_active, user.is_staff, user.is_superuser) == (True, False, False)


def test_create_user_with_a_password_hashes_it(db):
    user = User.objects.create_user("grace@example.com", "nanoseconds", full_name="Grace")

    assert user.password.startswith("argon2$")
    assert user.check_password("nanoseconds")


def test_create_user_requires_an_email(db):
    with pytest.raises(ValueError, match="email address is required"):
        User.objects.create_user("", "whatever")


def test_create_superuser_is_staff_and_superuser(db):
    root = User.objects.create_superuser("root@example.com", None, full_name="Root")

    assert (root.is_staff, root.is_superuser) == (True, True)


def test_natural_key_lookup_ignores_case(db):
    user = User.objects.create_user("grace@example.com", None, full_name="Grace")

    assert User.objects.get_by_natural_key(" GRACE@example.com ") == user
