"""AuthEvent now belongs to the audit app (audit.0001_initial renamed its table and took
it into audit's state, rows and all); accounts forgets it, in its state only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0005_lockout_mfa_challenge_redis"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuthEvent")],
            database_operations=[],
        ),
    ]
