"""AuthEvent moves here from accounts, keeping its rows: the model enters audit's state and
the table is renamed (accounts_authevent → audit_authevent), nothing is copied. The
model's named indexes (`authevent_*`) keep their names; on PostgreSQL the primary key,
the user_id index and the id sequence, which Django named after the old table, are renamed
to what a table created by audit would have. accounts' 0006 drops the model from
accounts' state only, after this."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


TABLE = "audit_authevent"


def _name_after(owner: str):
    """Give audit_authevent's primary key, user_id index and id sequence the names Django
    gives them in a table named `owner` (run after the rename, or before renaming back)."""

    def rename(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, TABLE)
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
            (sequence,) = cursor.fetchone()
        wanted = {
            "primary_key": f"{owner}_pkey",
            "user_id": schema_editor._create_index_name(owner, ["user_id"], suffix=""),
        }
        for name, info in constraints.items():
            if info["primary_key"]:
                new = wanted["primary_key"]
            elif info["index"] and info["columns"] == ["user_id"] and not info["unique"]:
                new = wanted["user_id"]
            else:
                continue
            if name != new:
                # A primary key is a constraint owning its index: renaming either renames both.
                schema_editor.execute(f"ALTER INDEX {quote(name)} RENAME TO {quote(new)}")
        if sequence and sequence.split(".")[-1].strip('"') != f"{owner}_id_seq":
            schema_editor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {quote(owner + '_id_seq')}")

    return rename


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The table was created by accounts.0002; the move happens on top of accounts' last
        # migration before it.
        ("accounts", "0005_lockout_mfa_challenge_redis"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"ALTER TABLE accounts_authevent RENAME TO {TABLE}",
                    reverse_sql=f"ALTER TABLE {TABLE} RENAME TO accounts_authevent",
                ),
                migrations.RunPython(
                    _name_after("audit_authevent"), _name_after("accounts_authevent")
                ),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="AuthEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("type", models.CharField(max_length=64)),
                        ("session_id", models.UUIDField(blank=True, null=True)),
                        ("ip", models.GenericIPAddressField(blank=True, null=True)),
                        ("user_agent", models.CharField(blank=True, max_length=512)),
                        ("created_at", models.DateTimeField()),
                        ("details", models.JSONField(blank=True, default=dict)),
                        ("user", models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "ordering": ("-created_at", "-id"),
                        "indexes": [
                            models.Index(fields=["user", "-created_at"], name="authevent_user_recent_idx"),
                            models.Index(fields=["created_at"], name="authevent_created_idx"),
                            models.Index(fields=["type", "-created_at"], name="authevent_type_recent_idx"),
                        ],
                    },
                ),
            ],
        ),
    ]
