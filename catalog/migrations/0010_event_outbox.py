"""The event outbox's model joins the catalog app (catalog.outbox writes it; the catalog may
not import sharing). State only: the table keeps its name, sharing_event, and its rows.
sharing's migration 0006 takes the model out of sharing's state and repoints its foreign keys."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0009_text_limits'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Event',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('type', models.CharField(db_index=True, max_length=64, verbose_name='type')),
                        ('occurred_at', models.DateTimeField(db_index=True, verbose_name='time')),
                        ('subject_type', models.CharField(max_length=64, verbose_name='subject type')),
                        ('subject_id', models.CharField(max_length=64, verbose_name='subject id')),
                        ('payload', models.JSONField(blank=True, default=dict, verbose_name='payload')),
                        ('dispatched_at', models.DateTimeField(blank=True, null=True, verbose_name='dispatched at')),
                        ('delivered_at', models.DateTimeField(blank=True, null=True, verbose_name='delivered at')),
                        ('attempts', models.PositiveIntegerField(default=0, verbose_name='attempts')),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='actor')),
                        ('org', models.ForeignKey(blank=True, help_text='The institution the subject belongs to', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='catalog.organization', verbose_name='institution')),
                    ],
                    options={
                        'verbose_name': 'event',
                        'verbose_name_plural': 'events',
                        'ordering': ['-occurred_at'],
                        'db_table': 'sharing_event',
                        'indexes': [models.Index(condition=models.Q(('delivered_at__isnull', True)), fields=['occurred_at'], name='event_undelivered_idx'), models.Index(fields=['subject_type', 'subject_id', 'occurred_at'], name='event_subject_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
