from django.apps import AppConfig


class SessionsStoreConfig(AppConfig):
    name = "sessions_store"
    verbose_name = "Sessions"
    default_auto_field = "django.db.models.BigAutoField"
