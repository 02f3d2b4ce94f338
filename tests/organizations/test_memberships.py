"""Organizations and the role a person has in each (manager or member)."""

import pytest
from django.db import IntegrityError

from tests.helpers import add_membership
from twostep.organizations.models import Membership, Organization


def test_a_person_has_one_role_per_organization(user):
    add_membership(user, "Analytical Engines", "manager")

    with pytest.raises(IntegrityError):
        add_membership(user, "Analytical Engines", "member")


def test_the_role_defaults_to_member(user):
    org = Organization.objects.create(name="Compiler Works")

    membership = Membership.objects.create(user=user, organization=org)

    assert membership.role == Membership.Role.MEMBER
    assert str(membership) == "Ada Lovelace — Member of Compiler Works"


def test_organization_names_are_unique(db):
    Organization.objects.create(name="Compiler Works")

    with pytest.raises(IntegrityError):
        Organization.objects.create(name="Compiler Works")


def test_memberships_list_in_organization_name_order(user):
    for name in ("Zuse Labs", "Analytical Engines", "Compiler Works"):
        add_membership(user, name)

    names = [m.organization.name for m in user.memberships.all()]

    assert names == ["Analytical Engines", "Compiler Works", "Zuse Labs"]


def test_deleting_an_organization_ends_its_memberships_but_not_the_people(user):
    add_membership(user, "Compiler Works")

    Organization.objects.get(name="Compiler Works").delete()

    assert not Membership.objects.exists()
    user.refresh_from_db()
