"""TOTP secrets at rest: encrypted with keys outside the database, rotatable."""

import base64
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tests.helpers import SECRET, code_for, enable_2fa
from twostep.audit.models import SecurityEvent
from twostep.mfa import crypto, enrolment, key_rotation, totp, verification
from twostep.mfa.models import TOTPDevice

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def device_secret(device: TOTPDevice, keys: list[str]) -> bytes:
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=keys):
        return TOTPDevice.objects.get(pk=device.pk).secret()


def stored_column(device: TOTPDevice) -> str:
    """The encrypted_secret column exactly as the database holds it."""
    table = connection.ops.quote_name(TOTPDevice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT encrypted_secret FROM {table} WHERE id = %s", [device.pk])
        return cursor.fetchone()[0]


def readable_forms(secret: bytes) -> list[str]:
    encoded = totp.encode_secret(secret)
    return [
        secret.decode("latin-1"),
        secret.hex(),
        encoded,
        totp.grouped(encoded),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
    ]


def test_database_column_never_holds_the_secret_in_any_readable_form(make_user):
    users = [make_user(email=f"user{n}@example.com") for n in range(5)]
    devices = [enable_2fa(users[0])]
    devices += [enrolment.start_enrolment(user=user, request=None) for user in users[1:]]
    for device in devices:
        column, secret = stored_column(device), device.secret()
        assert len(secret) == totp.SECRET_BYTES
        for form in readable_forms(secret):
            assert form not in column
        assert crypto.decrypt(column) == secret


def test_encrypting_the_same_secret_twice_gives_different_tokens():
    assert crypto.encrypt(SECRET) != crypto.encrypt(SECRET)


def test_secret_written_under_an_older_key_still_decrypts(user):
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[OLD_KEY]):
        device = enable_2fa(user)
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert TOTPDevice.objects.get(pk=device.pk).secret() == SECRET


def test_new_secrets_are_encrypted_under_the_newest_key(user):
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        device = enrolment.start_enrolment(user=user, request=None)
        secret = device.secret()
    token = stored_column(device).encode()
    assert Fernet(NEW_KEY.encode()).decrypt(token) == secret
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY.encode()).decrypt(token)


def test_rotate_command_moves_every_secret_to_the_newest_key_so_the_old_key_can_go(
    make_user, frozen
):
    secrets = [SECRET, totp.generate_secret(), totp.generate_secret()]
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[OLD_KEY]):
        devices = [
            enable_2fa(make_user(email=f"user{n}@example.com"), secret)
            for n, secret in enumerate(secrets)
        ]
        pending = enrolment.start_enrolment(user=make_user(email="new@example.com"), request=None)
        pending_secret = pending.secret()
    before = {device.pk: stored_column(device) for device in [*devices, pending]}

    out = StringIO()
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_encryption_keys", stdout=out)
    assert "Re-encrypted 4 secret(s)" in out.getvalue()

    for device in [*devices, pending]:
        assert stored_column(device) != before[device.pk]
    # The old key is gone from the setting: every secret still opens, and still verifies.
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[NEW_KEY]):
        for device, secret in zip(devices, secrets, strict=True):
            fresh = TOTPDevice.objects.get(pk=device.pk)
            assert fresh.secret() == secret
            check = verification.verify_code(
                device=fresh, code=code_for(secret), request=None, purpose="login"
            )
            assert check.accepted
        assert TOTPDevice.objects.get(pk=pending.pk).secret() == pending_secret
    # And the old key alone no longer opens anything.
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[OLD_KEY]):
        for device in [*devices, pending]:
            with pytest.raises(InvalidToken):
                TOTPDevice.objects.get(pk=device.pk).secret()


def test_rotation_pages_through_every_device_and_records_one_event(make_user):
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[OLD_KEY]):
        devices = [enable_2fa(make_user(email=f"user{n}@example.com")) for n in range(7)]
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert key_rotation.rotate_encryption_keys(batch=2) == 7
    for device in devices:
        assert device_secret(device, [NEW_KEY]) == SECRET
    [event] = SecurityEvent.objects.filter(type=SecurityEvent.Type.KEYS_ROTATED)
    assert (event.subject, event.actor, event.details) == (None, None, {"count": 7})


def test_rotation_stops_without_changing_anything_when_a_secret_is_under_a_removed_key(
    make_user,
):
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[OLD_KEY]):
        first = enable_2fa(make_user(email="first@example.com"))
    orphan = enable_2fa(make_user(email="orphan@example.com"))  # the development key
    before = {device.pk: stored_column(device) for device in (first, orphan)}
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        with pytest.raises(InvalidToken):
            call_command("rotate_encryption_keys", stdout=StringIO())
    assert {device.pk: stored_column(device) for device in (first, orphan)} == before
    assert not SecurityEvent.objects.filter(type=SecurityEvent.Type.KEYS_ROTATED).exists()


def test_rotation_with_nothing_to_rotate_reports_zero(db):
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "Re-encrypted 0 secret(s)" in out.getvalue()


def test_token_no_configured_key_opens_raises(user):
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[OLD_KEY]):
        device = enable_2fa(user)
    with override_settings(TWOSTEP_ENCRYPTION_KEYS=[NEW_KEY]):
        with pytest.raises(InvalidToken):
            crypto.decrypt(stored_column(device))
        with pytest.raises(InvalidToken):
            TOTPDevice.objects.get(pk=device.pk).secret()


@pytest.mark.parametrize("token", ["", "not a token", "gAAAAA" + "A" * 80])
def test_garbage_token_raises_invalid_token(token):
    with pytest.raises(InvalidToken):
        crypto.decrypt(token)
