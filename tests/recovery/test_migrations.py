"""Migration 0005 (one open case per account) on a database that already has duplicates."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from twostep.recovery.models import RecoveryCase

BEFORE = [("recovery", "0004_request_verified")]


@pytest.mark.django_db(transaction=True)
def test_migration_0005_keeps_the_newest_open_case_per_account_and_cancels_the_others(
    make_user,
):
    ada, bob = make_user(), make_user("bob@example.com", full_name="Bob Byron")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_case = executor.loader.project_state(BEFORE).apps.get_model("recovery", "RecoveryCase")
    start = timezone.now() - timedelta(days=3)

    def make(account, status, days):
        at = start + timedelta(days=days)
        return old_case.objects.create(
            account_id=account.pk,
            source="web",
            status=status,
            claimed_email=account.email,
            created_at=at,
            updated_at=at,
        ).pk

    older = make(ada, "in_verification", 0)
    oldest_closed = make(ada, "done", -1)
    middle = make(ada, "approved", 1)
    newest = make(ada, "awaiting_confirmation", 2)
    bobs = make(bob, "in_verification", 0)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    cases = {case.pk: case for case in RecoveryCase.objects.all()}
    assert cases[newest].status == RecoveryCase.Status.AWAITING_CONFIRMATION
    assert cases[bobs].status == RecoveryCase.Status.IN_VERIFICATION
    assert cases[oldest_closed].status == RecoveryCase.Status.DONE
    assert cases[oldest_closed].close_reason == ""
    for pk in (older, middle):
        assert cases[pk].status == RecoveryCase.Status.CANCELLED
        assert cases[pk].close_reason == "merged: duplicate open case"
        assert cases[pk].closed_at is not None
