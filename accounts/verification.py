"""Email verification: a signed link on registration and on request."""

from django.conf import settings
from django.db import transaction

from accounts.exceptions import ResetTokenInvalid
from accounts.mail import VERIFY_MAIL, front_end_link, mail_language, templated_mail
from accounts.models import User
from accounts.tokens import email_verify_key_make, email_verify_key_read
from audit import events
from authsvc.http import ClientInfo
from mailqueue.queue import mail_enqueue
from mailqueue.registry import Built
from sessions_store.services import user_snapshots_refresh


def email_verification_send(*, user: User) -> None:
    """Queue the verification mail, in the caller's transaction (a registration that rolls
    back sends nothing)."""
    mail_enqueue(
        VERIFY_MAIL,
        to=user.email,
        params={"user_id": str(user.pk), "email": user.email, "language": mail_language()},
    )


def email_verification_mail_build(params: dict) -> Built:
    """The mail with a key made now, or nothing when the account is gone or has another
    address (the key is bound to the address, and the new one was proven by its change)."""
    user = User.objects.filter(pk=params["user_id"], email=params["email"]).first()
    if user is None:
        return Built(None, reason="the account is gone or has another address")
    link = front_end_link(settings.AUTHSVC_EMAIL_VERIFY_PATH, key=email_verify_key_make(user))
    return Built(
        templated_mail(
            template="verify_email",
            to=user.email,
            context={
                "name": user.name,
                "email": user.email,
                "link": link,
                "valid_days": max(1, settings.AUTHSVC_EMAIL_VERIFY_TTL_SECONDS // 86400),
            },
            language=params.get("language"),
        )
    )


def email_verification_resend(*, user_id) -> bool:
    """Send a new link unless the email is verified already; True if one was sent."""
    user = User.objects.get(pk=user_id)
    if user.email_verified:
        return False
    email_verification_send(user=user)
    return True


@transaction.atomic
def email_verify(*, key: str, client: ClientInfo) -> User:
    found = email_verify_key_read(key)
    user = None
    if found is not None:
        user_id, email = found
        user = User.objects.select_for_update().filter(pk=user_id, email=email).first()
    if user is None:
        events.record("email_verify_failed", client=client)
        raise ResetTokenInvalid()
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        user_snapshots_refresh(user=user)
        events.record("email_verified", user_id=str(user.pk), client=client)
    return user
