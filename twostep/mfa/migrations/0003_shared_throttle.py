"""Every existing authenticator gets its account's MfaState (methods = 1 once confirmed,
0 while pending), carrying its wrong-code count and wait over; then the authenticator's own
throttle columns go. Reversible: the count and wait go back onto the authenticator."""

from django.db import migrations


def to_state(apps, schema_editor):
    TOTPDevice = apps.get_model("mfa", "TOTPDevice")
    MfaState = apps.get_model("mfa", "MfaState")
    SecurityKey = apps.get_model("mfa", "SecurityKey")
    for device in TOTPDevice.objects.all().iterator():
        keys = SecurityKey.objects.filter(user_id=device.user_id).count()
        MfaState.objects.update_or_create(
            user_id=device.user_id,
            defaults={
                "methods": (1 if device.confirmed_at is not None else 0) + keys,
                "failure_count": device.failure_count,
                "next_try_at": device.next_try_at,
            },
        )


def to_device(apps, schema_editor):
    TOTPDevice = apps.get_model("mfa", "TOTPDevice")
    MfaState = apps.get_model("mfa", "MfaState")
    SecurityKey = apps.get_model("mfa", "SecurityKey")
    for state in MfaState.objects.all().iterator():
        TOTPDevice.objects.filter(user_id=state.user_id).update(
            failure_count=state.failure_count, next_try_at=state.next_try_at
        )
    # The rows this migration made (no key, no WebAuthn handle) go with it.
    MfaState.objects.filter(webauthn_user_handle__isnull=True).exclude(
        user_id__in=SecurityKey.objects.values("user_id")
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mfa", "0002_factors"),
    ]

    operations = [
        migrations.RunPython(to_state, to_device),
        migrations.RemoveField(model_name="totpdevice", name="failure_count"),
        migrations.RemoveField(model_name="totpdevice", name="next_try_at"),
    ]
