"""Backup codes move from django-otp's StaticToken (an unsalted 64-bit SHA-256 prefix) to
BackupCode (salted, slow, peppered). The plain codes are unknown, so each old row is
wrapped instead: its stored prefix goes through the new hash as a "legacy" digest, which
accounts.mfa.codes checks by hashing a typed code to that prefix first. Users keep the
codes they have; the unsalted values leave the database."""

from django.db import migrations, models


def wrap_static_tokens(apps, schema_editor):
    from accounts.mfa.codes import backup_code_digest_legacy

    StaticToken = apps.get_model("otp_static", "StaticToken")
    BackupCode = apps.get_model("accounts", "BackupCode")
    tokens = list(StaticToken.objects.all())
    BackupCode.objects.bulk_create(
        BackupCode(device_id=token.device_id, digest=backup_code_digest_legacy(token.token))
        for token in tokens
    )
    StaticToken.objects.filter(pk__in=[token.pk for token in tokens]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_builtin_roles"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="BackupCode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.CharField(max_length=128)),
                (
                    "device",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE,
                        related_name="backup_codes",
                        to="otp_static.staticdevice",
                    ),
                ),
            ],
        ),
        # Not reversible into StaticToken: going back drops the table, voiding the codes.
        migrations.RunPython(wrap_static_tokens, migrations.RunPython.noop),
    ]
