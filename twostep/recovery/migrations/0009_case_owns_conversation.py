# The case owns its conversation (RecoveryCase.conversation) instead of the conversation
# pointing at its case: recovery sits above chat. Between the schema steps, each case takes
# the conversation that pointed at it, marked as a case's, and a case that never had one
# gets an empty one; chat 0005 then drops conversation.case and 0010 makes the link required.

import django.db.models.deletion
from django.db import migrations, models


def give_each_case_its_conversation(apps, schema_editor):
    db = schema_editor.connection.alias
    Conversation = apps.get_model("chat", "Conversation")
    RecoveryCase = apps.get_model("recovery", "RecoveryCase")
    on_cases = Conversation.objects.using(db).filter(case__isnull=False)
    for conversation_id, case_id in on_cases.values_list("pk", "case_id"):
        RecoveryCase.objects.using(db).filter(pk=case_id).update(conversation_id=conversation_id)
    on_cases.update(kind="case")
    without = RecoveryCase.objects.using(db).filter(conversation__isnull=True)
    for case_id, created_at in without.values_list("pk", "created_at"):
        conversation = Conversation.objects.using(db).create(
            kind="case", case_id=case_id, created_at=created_at, updated_at=created_at
        )
        RecoveryCase.objects.using(db).filter(pk=case_id).update(conversation=conversation)


def point_conversations_at_their_cases(apps, schema_editor):
    db = schema_editor.connection.alias
    Conversation = apps.get_model("chat", "Conversation")
    RecoveryCase = apps.get_model("recovery", "RecoveryCase")
    linked = RecoveryCase.objects.using(db).filter(conversation__isnull=False)
    for case_id, conversation_id in linked.values_list("pk", "conversation_id"):
        Conversation.objects.using(db).filter(pk=conversation_id).update(case_id=case_id)
    if schema_editor.connection.vendor == "postgresql":
        # Django's foreign keys are deferred: check the case_id just written now, or the
        # removal of RecoveryCase.conversation that follows (an ALTER TABLE on a table with
        # pending trigger events) is refused.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0004_conversation_kind'),
        ('recovery', '0008_support_notice_pending'),
    ]

    operations = [
        migrations.AddField(
            model_name='recoverycase',
            name='conversation',
            field=models.OneToOneField(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='chat.conversation'),
        ),
        migrations.RunPython(give_each_case_its_conversation, point_conversations_at_their_cases),
    ]
