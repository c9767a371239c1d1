from django.conf import settings
from django.core.checks import Tags, Warning, register

from mailqueue.checks import LOCAL_BACKENDS


@register(Tags.security, deploy=True)
def check_login_codes_mail(app_configs, **kwargs):
    """Sign-in codes with a mail backend that keeps the mail in the process: the console and
    file backends write every code where the logs go, and none reaches its owner."""
    if (
        settings.DEBUG
        or not settings.AUTHSVC_LOGIN_CODES_ENABLED
        or settings.EMAIL_BACKEND not in LOCAL_BACKENDS
    ):
        return []
    return [
        Warning(
            f"Sign-in codes by email are on, but mail goes to {settings.EMAIL_BACKEND}.",
            hint="Nobody receives the codes, and the console and file backends write each "
            "one where the logs go. Configure SMTP (EMAIL_HOST...) or set "
            "AUTHSVC_LOGIN_CODES_ENABLED=0.",
            id="authsvc.W006",
        )
    ]
