"""The account's methods: MfaState.methods as the one answer to "is 2FA on", kept by
recount_methods, cleared by remove_factors; and migration 0003 that made it."""

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.helpers import NOW, enable_2fa, give_recovery_codes, mfa_state
from twostep.accounts.models import User
from twostep.mfa import factors
from twostep.mfa.models import MfaState, RecoveryCode, SecurityKey, TOTPDevice, WebAuthnChallenge


def add_key(user, name="YubiKey") -> SecurityKey:
    return SecurityKey.objects.create(
        user=user,
        name=name,
        credential_id=f"cred-{name}",
        public_key=b"k",
        created_at=timezone.now(),
    )


def test_without_a_state_row_2fa_is_off_and_costs_no_query(user, django_assert_num_queries):
    loaded = User.objects.get_by_natural_key(user.email)
    with django_assert_num_queries(0):
        assert factors.second_factor_on(loaded) is False


def test_the_state_comes_with_the_user_at_the_password_step(
    device, user, django_assert_num_queries
):
    loaded = User.objects.get_by_natural_key(user.email)
    with django_assert_num_queries(0):
        assert factors.second_factor_on(loaded) is True
        assert factors.active_device(loaded) is not None


def test_recount_counts_the_confirmed_app_and_each_key(user):
    with transaction.atomic():
        assert factors.recount_methods(user) == (0, 0)  # makes the row
    TOTPDevice.objects.create(user=user, encrypted_secret="x", created_at=timezone.now())
    with transaction.atomic():
        assert factors.recount_methods(user) == (0, 0)  # a pending app is not a method
    add_key(user, "one")
    add_key(user, "two")
    with transaction.atomic():
        assert factors.recount_methods(user) == (0, 2)
    assert mfa_state(user).methods == 2 and factors.second_factor_on(user)


def test_remove_factors_removes_app_keys_codes_and_challenges(device, user):
    add_key(user)
    with transaction.atomic():
        factors.recount_methods(user)
    give_recovery_codes(user)
    WebAuthnChallenge.objects.create(
        session_hash="h" * 64,
        purpose="second_step",
        user=user,
        challenge=b"c" * 32,
        expires_at=timezone.now(),
    )
    MfaState.objects.filter(user=user).update(failure_count=7)
    assert factors.remove_factors(user, reason="support reset") == 2
    for model in (TOTPDevice, SecurityKey, RecoveryCode, WebAuthnChallenge):
        assert not model.objects.filter(user=user).exists(), model
    state = mfa_state(user)
    assert (state.methods, state.failure_count) == (0, 0)
    assert not factors.second_factor_on(user)


def test_an_account_with_keys_only_has_2fa_on_without_an_app(user):
    add_key(user)
    with transaction.atomic():
        factors.recount_methods(user)
    fresh = User.objects.get_by_natural_key(user.email)
    assert factors.second_factor_on(fresh) and factors.active_device(fresh) is None


BEFORE = [("mfa", "0002_factors")]


@pytest.mark.django_db(transaction=True)
def test_migration_0003_moves_the_throttle_to_the_state_and_back(make_user):
    ada, bob = make_user(), make_user("bob@example.com", full_name="Bob Byron")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    old_device = apps.get_model("mfa", "TOTPDevice")
    old_device.objects.create(
        user_id=ada.pk,
        encrypted_secret="x",
        confirmed_at=NOW,
        created_at=NOW,
        failure_count=7,
        next_try_at=NOW,
    )
    old_device.objects.create(user_id=bob.pk, encrypted_secret="y", created_at=NOW)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("mfa", "0003_shared_throttle")])
    state = MfaState.objects.get(user=ada)
    assert (state.methods, state.failure_count, state.next_try_at) == (1, 7, NOW)
    assert MfaState.objects.filter(user=bob, methods=0, failure_count=0).exists()

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    device = apps.get_model("mfa", "TOTPDevice").objects.get(user_id=ada.pk)
    assert (device.failure_count, device.next_try_at) == (7, NOW)
    assert not apps.get_model("mfa", "MfaState").objects.exists()

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert factors.second_factor_on(User.objects.get(pk=ada.pk))


def test_enable_2fa_helper_keeps_the_count(user):
    enable_2fa(user)
    assert mfa_state(user).methods == 1
