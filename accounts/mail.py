"""The emails accounts sends, through the mail queue (mailqueue/): queued in the caller's
transaction, built and sent by the worker, retried while the SMTP server is down.

A queued mail holds what is needed to build it, never a link. The password reset token,
the verification key and the email change key are made by the builder as the mail goes
(`password_reset_mail_build`, `email_verification_mail_build`, `email_change_mail_build`),
and the sign-in code is drawn by its builder (`login_code_mail_build`), so no live
credential sits in the queue table waiting for an SMTP server; a mail delayed by
an outage carries a link whose lifetime starts when it is sent. Mail without a secret (the
notice to the old address) is queued rendered-ready as a template and its context.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from mailqueue.queue import mail_enqueue
from mailqueue.registry import Built, mail_kind_register

TEMPLATED_MAIL = "templated"
RESET_MAIL = "password_reset"
VERIFY_MAIL = "verify_email"
EMAIL_CHANGE_MAIL = "email_change_confirm"
LOGIN_CODE_MAIL = "login_code"


def front_end_link(path: str, **params: str) -> str:
    base = settings.AUTHSVC_FRONTEND_URL.rstrip("/")
    # The path as configured, its trailing slash kept: the service's own pages have one.
    return f"{base}/{path.lstrip('/')}?{urlencode(params)}"


def mail_language() -> str:
    """The language a mail queued now is written in: the page's the person is using (the
    pages activate it, pages/locale.py), else the default (the API's requests)."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    known = {code for code, _name in settings.LANGUAGES}
    return language if language in known else settings.LANGUAGE_CODE


def send_templated_mail(*, template: str, to: str, context: dict) -> None:
    """Queue templates/emails/<template>_subject.txt, .txt and .html with this context (plain
    values, stored as they are: never a link or a secret)."""
    mail_enqueue(
        TEMPLATED_MAIL,
        to=to,
        params={"template": template, "to": to, "context": context, "language": mail_language()},
    )


def templated_mail(
    *, template: str, to: str, context: dict, language: str | None = None
) -> EmailMultiAlternatives:
    """Render templates/emails/<template>_subject.txt, .txt and .html into one message, in
    `language` (the one it was queued in; the worker has no request to ask)."""
    context = {
        "service_name": settings.AUTHSVC_SERVICE_NAME,
        "frontend_url": settings.AUTHSVC_FRONTEND_URL,
        **context,
    }
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
        message = EmailMultiAlternatives(
            subject=" ".join(subject.splitlines()),
            body=render_to_string(f"emails/{template}.txt", context),
            to=[to],
        )
        html = render_to_string(f"emails/{template}.html", context)
    message.attach_alternative(html, "text/html")
    return message


def _templated_mail_build(params: dict) -> Built:
    return Built(
        templated_mail(
            template=params["template"],
            to=params["to"],
            context=params["context"],
            language=params.get("language"),
        )
    )


def mail_kinds_register() -> None:
    """Called once by AccountsConfig.ready(), in every process (web and worker)."""
    from accounts.email_change import email_change_mail_build
    from accounts.login_codes import login_code_mail_build
    from accounts.passwords import password_reset_mail_build
    from accounts.verification import email_verification_mail_build

    mail_kind_register(TEMPLATED_MAIL, _templated_mail_build)
    mail_kind_register(RESET_MAIL, password_reset_mail_build)
    mail_kind_register(VERIFY_MAIL, email_verification_mail_build)
    mail_kind_register(EMAIL_CHANGE_MAIL, email_change_mail_build)
    mail_kind_register(LOGIN_CODE_MAIL, login_code_mail_build)
