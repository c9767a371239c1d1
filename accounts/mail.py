"""Templated emails (plain text + HTML), sent off the request thread by default."""

import logging
import threading

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def front_end_link(path: str, **params: str) -> str:
    from urllib.parse import urlencode

    base = settings.AUTHSVC_FRONTEND_URL.rstrip("/")
    return f"{base}/{path.strip('/')}?{urlencode(params)}"


def _deliver(message: EmailMultiAlternatives) -> None:
    try:
        message.send()
    except Exception:  # the mail server's failure must not become the user's error
        logger.exception("sending %r to a user failed", message.subject)


def send_templated_mail(*, template: str, to: str, context: dict) -> None:
    """Render templates/emails/<template>_subject.txt, .txt and .html and send them."""
    context = {
        "service_name": settings.AUTHSVC_SERVICE_NAME,
        "frontend_url": settings.AUTHSVC_FRONTEND_URL,
        **context,
    }
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=" ".join(subject.splitlines()),
        body=render_to_string(f"emails/{template}.txt", context),
        to=[to],
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    if settings.AUTHSVC_EMAIL_ASYNC:
        threading.Thread(target=_deliver, args=(message,), daemon=True).start()
    else:
        _deliver(message)
