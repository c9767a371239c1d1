from django.apps import AppConfig


class AuthsvcConfig(AppConfig):
    name = "authsvc"
    verbose_name = "authsvc"

    def ready(self) -> None:
        from authsvc import (
            checks,  # noqa: F401 - registers the system checks
            schema,  # noqa: F401 - registers drf-spectacular's extension
        )
