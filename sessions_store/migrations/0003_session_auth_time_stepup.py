from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_store", "0002_session_revoked_index"),
    ]

    operations = [
        # Nullable, so adding it rewrites no row: older sessions count from `created_at`.
        migrations.AddField(
            model_name="session",
            name="auth_time",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
