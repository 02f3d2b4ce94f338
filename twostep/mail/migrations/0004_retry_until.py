from datetime import timedelta

from django.db import migrations, models
from django.db.models import F


def retry_for_three_days(apps, schema_editor):
    OutgoingEmail = apps.get_model("mail", "OutgoingEmail")
    OutgoingEmail.objects.update(retry_until=F("created_at") + timedelta(days=3))


class Migration(migrations.Migration):

    dependencies = [
        ("mail", "0003_message_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="outgoingemail",
            name="retry_until",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(retry_for_three_days, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="outgoingemail",
            name="retry_until",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="outgoingemail",
            name="status",
            field=models.CharField(
                choices=[("queued", "Queued"), ("sent", "Sent"), ("failed", "Not delivered")],
                default="queued",
                max_length=10,
            ),
        ),
    ]
