# Every case has its conversation since 0009: the link is required from now on.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0005_conversation_without_case'),
        ('recovery', '0009_case_owns_conversation'),
    ]

    operations = [
        migrations.AlterField(
            model_name='recoverycase',
            name='conversation',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='case', to='chat.conversation'),
        ),
    ]
