"""Changing the login email: asked for with the password by a recently authenticated
session, done only when the link mailed to the new address is used.

The old address gets a notice at once, so an owner whose session and password were both
stolen learns of it while the old address still works for a password reset.
"""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.exceptions import EmailTaken, InvalidRequest, ResetTokenInvalid
from accounts.mail import (
    EMAIL_CHANGE_MAIL,
    front_end_link,
    mail_language,
    send_templated_mail,
    templated_mail,
)
from accounts.models import User
from accounts.services import email_clean, password_verify
from accounts.tokens import (
    email_change_account_mac,
    email_change_account_matches,
    email_change_key_make,
    email_change_key_matches,
    email_change_key_read,
)
from audit import events
from authsvc.http import ClientInfo
from mailqueue.queue import mail_enqueue
from mailqueue.registry import Built
from sessions_store.services import user_sessions_revoke, user_snapshots_refresh


def email_change_request(
    *, user_id, session_id: str, new_email: str, password: str, client: ClientInfo
) -> None:
    """Mail a confirmation link to `new_email` and a notice to the current address.

    InvalidRequest for an address that is not one (or is already the account's),
    InvalidCredentials / RateLimited for the password (the login's check and lockout),
    EmailTaken when another account has the address. Only a session holding the password,
    recently authenticated and limited per user, can ask whether an address is taken.
    """
    new_email = email_clean(new_email, field="new_email")
    user = User.objects.get(pk=user_id)
    # Outside any transaction, so a wrong password is counted even though the caller fails.
    password_verify(
        user=user,
        email=user.email,
        password=password,
        client=client,
        attempt="email_change",
        sid=session_id,
    )
    if new_email == user.email:
        raise InvalidRequest(fields={"new_email": [_("This is already the account's address.")]})
    if User.objects.filter(email=new_email).exists():
        events.record("email_change_refused", user_id=str(user.pk), sid=session_id, client=client)
        raise EmailTaken()
    with transaction.atomic():
        # The link is made when the mail is sent (email_change_mail_build), bound to the
        # account as it is now: a password or address change meanwhile voids it.
        mail_enqueue(
            EMAIL_CHANGE_MAIL,
            to=new_email,
            params={
                "user_id": str(user.pk),
                "new_email": new_email,
                "session_id": str(session_id),
                "account": email_change_account_mac(user),
                "language": mail_language(),
            },
        )
        send_templated_mail(
            template="email_change_notice", to=user.email, context=_mail_context(user, new_email)
        )
        events.record("email_change_requested", user_id=str(user.pk), sid=session_id, client=client)


def _mail_context(user: User, new_email: str) -> dict:
    return {
        "name": user.name,
        "old_email": user.email,
        "new_email": new_email,
        "valid_hours": max(1, settings.AUTHSVC_EMAIL_CHANGE_TTL_SECONDS // 3600),
    }


def email_change_mail_build(params: dict) -> Built:
    """The confirmation mail to the new address with a key made now, or nothing when the
    account's address or password changed since the request (its key would be dead)."""
    user = User.objects.filter(pk=params["user_id"], is_active=True).first()
    if user is None or not email_change_account_matches(user, params["account"]):
        return Built(None, reason="the account changed since the request (address or password)")
    new_email = params["new_email"]
    link = front_end_link(
        settings.AUTHSVC_EMAIL_CHANGE_PATH,
        key=email_change_key_make(user=user, new_email=new_email, session_id=params["session_id"]),
    )
    return Built(
        templated_mail(
            template="email_change_confirm",
            to=new_email,
            context={**_mail_context(user, new_email), "link": link},
            language=params.get("language"),
        )
    )


@transaction.atomic
def email_change_confirm(*, key: str, client: ClientInfo) -> User:
    """Use an email change link: the account's email becomes the new, verified address.

    ResetTokenInvalid for a forged, expired or used key (a key is bound to the address and
    password it was asked with, so it dies once either changed); EmailTaken when another
    account took the address meanwhile. Every session but the one that asked ends: the login name
    changed, and a session stolen before the change must not outlive it.
    """
    found = email_change_key_read(key)
    user = None
    if found is not None:
        user = User.objects.select_for_update().filter(pk=found.user_id, is_active=True).first()
    if user is None or not email_change_key_matches(found, user):
        events.record("email_change_failed", user_id=str(user.pk) if user else None, client=client)
        raise ResetTokenInvalid()
    if User.objects.filter(email=found.new_email).exclude(pk=user.pk).exists():
        events.record("email_change_refused", user_id=str(user.pk), client=client)
        raise EmailTaken()
    user.email = found.new_email
    # The link arrived at the new address, so it is proven.
    user.email_verified = True
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified"])
    except IntegrityError as exc:
        # A registration took the address between the check and the write.
        raise EmailTaken() from exc
    revoked = user_sessions_revoke(
        user_id=user.pk, reason="email_changed", keep_session_id=found.session_id
    )
    user_snapshots_refresh(user=user)
    events.record("email_changed", user_id=str(user.pk), client=client, revoked=revoked)
    return user
