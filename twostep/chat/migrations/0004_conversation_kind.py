# The conversation says its own kind (a person's own, or a case's), so that the case can
# own its conversation (recovery 0009) and chat need not know what a case is.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0003_conversation_one_own_conversation_per_person'),
    ]

    operations = [
        migrations.AddField(
            model_name='conversation',
            name='kind',
            field=models.CharField(choices=[('own', "A person's own conversation"), ('case', "A case's conversation")], default='own', max_length=4),
        ),
        # Both constraints read conversation.case, which goes in 0005: they come back there
        # in terms of the kind, once recovery 0009 has set it.
        migrations.RemoveConstraint(
            model_name='conversation',
            name='conversation_has_a_person',
        ),
        migrations.RemoveConstraint(
            model_name='conversation',
            name='one_own_conversation_per_person',
        ),
    ]
