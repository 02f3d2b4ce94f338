# Recovery 0009 moved the link to the case's side: the conversation keeps only its kind,
# and the constraints say in its terms what they said before: an own conversation has its
# person, one per person; a case's may have no user.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0004_conversation_kind'),
        ('recovery', '0009_case_owns_conversation'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveField(
            model_name='conversation',
            name='case',
        ),
        migrations.AddConstraint(
            model_name='conversation',
            constraint=models.CheckConstraint(condition=models.Q(('user__isnull', False), ('kind', 'case'), _connector='OR'), name='conversation_has_a_person'),
        ),
        migrations.AddConstraint(
            model_name='conversation',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'own')), fields=('user',), name='one_own_conversation_per_person'),
        ),
    ]
