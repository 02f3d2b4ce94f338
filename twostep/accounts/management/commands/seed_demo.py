from django.core.management.base import BaseCommand
from django.db import transaction

from twostep.accounts.models import User
from twostep.organizations.models import Membership, Organization

DEMO_PASSWORD = "twostep-demo"
PEOPLE = [
    ("ada@example.com", "Ada Lovelace", False, [("Analytical Engines", "manager")]),
    (
        "grace@example.com",
        "Grace Hopper",
        False,
        [("Analytical Engines", "member"), ("Compiler Works", "member")],
    ),
    ("sam@example.com", "Sam Support", True, []),
]


class Command(BaseCommand):
    help = "Create the demo accounts and organizations (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        for email, name, staff, memberships in PEOPLE:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email, DEMO_PASSWORD, full_name=name, is_staff=staff
                )
            for org_name, role in memberships:
                org, _ = Organization.objects.get_or_create(name=org_name)
                Membership.objects.get_or_create(
                    user=user, organization=org, defaults={"role": role}
                )
        self.stdout.write("Demo logins (password: twostep-demo, 2FA off):")
        for email, name, staff, _ in PEOPLE:
            self.stdout.write(f"  {email:<20} {name}{' (staff)' if staff else ''}")
