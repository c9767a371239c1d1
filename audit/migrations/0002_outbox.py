# The outbox (audit/outbox.py, audit/relay.py).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='OutboxEvent',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('event_id', models.UUIDField(unique=True)),
                ('type', models.CharField(max_length=40)),
                ('occurred_at', models.DateTimeField()),
                ('user_id', models.CharField(blank=True, max_length=64)),
                ('session_id', models.CharField(blank=True, max_length=64)),
                ('data', models.JSONField(default=dict)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'indexes': [models.Index(condition=models.Q(('sent_at__isnull', True)), fields=['id'], name='outbox_unsent_idx'), models.Index(condition=models.Q(('sent_at__isnull', False)), fields=['sent_at'], name='outbox_sent_idx')],
            },
        ),
    ]
