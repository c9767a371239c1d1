from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

# Backends that print, keep or drop mail in the process: sending them on commit costs nothing.
LOCAL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    }
)


@register(Tags.compatibility)
def check_mail_backoff(app_configs, **kwargs):
    if settings.AUTHSVC_MAIL_BACKOFF_SECONDS <= settings.AUTHSVC_MAIL_BACKOFF_MAX_SECONDS:
        return []
    return [
        Error(
            "AUTHSVC_MAIL_BACKOFF_SECONDS is above AUTHSVC_MAIL_BACKOFF_MAX_SECONDS.",
            hint="The first retry delay must not exceed the cap.",
            id="authsvc.E060",
        )
    ]


@register(Tags.security, deploy=True)
def check_mail_send_on_commit(app_configs, **kwargs):
    if (
        settings.DEBUG
        or not settings.AUTHSVC_MAIL_SEND_ON_COMMIT
        or settings.EMAIL_BACKEND in LOCAL_BACKENDS
    ):
        return []
    return [
        Warning(
            "AUTHSVC_MAIL_SEND_ON_COMMIT=1 with an SMTP backend: requests wait for the mail "
            "server after their commit.",
            hint="A password reset for a known address then answers measurably later than "
            "for an unknown one (user enumeration by timing), and a slow server slows the "
            "API. Leave it off and run `manage.py send_queued_mail`.",
            id="authsvc.W060",
        )
    ]
