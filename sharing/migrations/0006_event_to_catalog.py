"""The event outbox's model moved to the catalog app (catalog migration 0010). State only: the
table sharing_event and the foreign keys to it stay as they are. The content type is renamed
so that admin history and permissions of events stay attached."""

import django.db.models.deletion
from django.db import migrations, models


def rename_content_type(apps, schema_editor, old="sharing", new="catalog"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label=new, model="event").exists():
        ContentType.objects.using(db).filter(app_label=old, model="event").update(app_label=new)


def rename_back(apps, schema_editor):
    rename_content_type(apps, schema_editor, old="catalog", new="sharing")


def event_fk(**kwargs):
    return models.ForeignKey(to='catalog.event', verbose_name='event', **kwargs)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0010_event_outbox'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('sharing', '0005_request_answered_late'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField('delivery', 'event', event_fk(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries')),
                migrations.AlterField('notification', 'event', event_fk(on_delete=django.db.models.deletion.CASCADE, related_name='notifications')),
                migrations.AlterField('webhookdelivery', 'event', event_fk(on_delete=django.db.models.deletion.CASCADE, related_name='+')),
                migrations.AlterField('deadlinenotice', 'event', event_fk(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+')),
                migrations.DeleteModel(name='Event'),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rename_content_type, rename_back, elidable=True),
    ]
