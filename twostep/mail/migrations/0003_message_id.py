import uuid

from django.db import migrations, models


def give_each_email_a_message_id(apps, schema_editor):
    OutgoingEmail = apps.get_model("mail", "OutgoingEmail")
    for pk in OutgoingEmail.objects.filter(message_id="").values_list("pk", flat=True):
        OutgoingEmail.objects.filter(pk=pk).update(message_id=f"<{uuid.uuid4().hex}@localhost>")


class Migration(migrations.Migration):

    dependencies = [
        ("mail", "0002_worker_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="outgoingemail",
            name="message_id",
            field=models.CharField(default="", max_length=255),
            preserve_default=False,
        ),
        migrations.RunPython(give_each_email_a_message_id, migrations.RunPython.noop),
    ]
