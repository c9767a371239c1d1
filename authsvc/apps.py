import logging

from django.apps import AppConfig


class AuthsvcConfig(AppConfig):
    name = "authsvc"
    verbose_name = "authsvc"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from authsvc import (
            checks,  # noqa: F401 - registers the system checks
            schema,  # noqa: F401 - registers drf-spectacular's extension
        )
        from authsvc.logs import clear_request_id

        request_started.connect(clear_request_id, dispatch_uid="authsvc.logs.started")
        request_finished.connect(clear_request_id, dispatch_uid="authsvc.logs.finished")
        # Python's warnings as log lines too (JSON), not as text on stderr.
        logging.captureWarnings(True)
