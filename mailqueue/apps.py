from django.apps import AppConfig


class MailQueueConfig(AppConfig):
    name = "mailqueue"
    verbose_name = "Mail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mailqueue import checks  # noqa: F401 - registers the system checks
