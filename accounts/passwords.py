"""Password change and reset: each ends other sessions so a stolen one dies with the old
password."""

import uuid

from django.conf import settings
from django.db import transaction
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts import lockout
from accounts.emails import normalize_email
from accounts.exceptions import InvalidRequest, ResetTokenInvalid
from accounts.mail import RESET_MAIL, front_end_link, mail_language, templated_mail
from accounts.models import User
from accounts.services import password_check
from accounts.tokens import reset_tokens
from audit import events
from authsvc.http import ClientInfo
from authsvc.ratelimit import ACCOUNT_LOCKOUT, RateLimited
from mailqueue.queue import mail_enqueue
from mailqueue.registry import Built
from sessions_store.services import user_sessions_revoke


def password_change(
    *, user_id, session_id, current_password: str, new_password: str, client: ClientInfo
) -> None:
    email = User.objects.values_list("email", flat=True).get(pk=user_id)
    # A stolen session must not become a way around the login lockout. Counted before the
    # transaction, whose rollback on a wrong password would erase the count.
    attempt = lockout.login_attempt_start(email)
    if attempt.wait:
        raise RateLimited(retry_after=attempt.wait, group=ACCOUNT_LOCKOUT)
    with transaction.atomic():
        _password_change(user_id, session_id, current_password, new_password, client)


def _password_change(user_id, session_id, current_password, new_password, client) -> None:
    user = User.objects.select_for_update().get(pk=user_id)
    if not user.check_password(current_password):
        events.record("password_change_failed", user_id=str(user.pk), sid=session_id, client=client)
        raise InvalidRequest(
            _("The current password is incorrect."),
            fields={"current_password": [_("The current password is incorrect.")]},
        )
    lockout.login_failures_clear(user.email)
    password_check(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    revoked = user_sessions_revoke(
        user_id=user.pk, reason="password_changed", keep_session_id=session_id
    )
    events.record(
        "password_changed", user_id=str(user.pk), sid=session_id, client=client, revoked=revoked
    )


def reset_uid(user: User) -> str:
    return urlsafe_base64_encode(user.pk.bytes)


def password_reset_request(*, email: str, client: ClientInfo) -> None:
    """Email a reset link if the address belongs to an active account; silent otherwise.

    The request path does the same for every address: one INSERT of the queued mail, the
    address as typed (and the wake-up after it). Looking the account up, making the link
    and rendering the mail happen when the worker builds it (`password_reset_mail_build`):
    on the request path they made a known address measurably slower than an unknown one,
    which told a stranger which addresses have accounts.
    """
    mail_enqueue(
        RESET_MAIL,
        to=normalize_email(email),
        params={
            "email": normalize_email(email),
            "ip": client.ip,
            "user_agent": client.user_agent,
            "language": mail_language(),
        },
    )


def password_reset_mail_build(params: dict) -> Built:
    """The reset mail, with a token made now, or nothing for an address without an active
    account; the audit event (`known` or not) is recorded once, when the row is marked."""
    client = ClientInfo(ip=params.get("ip"), user_agent=params.get("user_agent", ""))
    user = User.objects.filter(email=params["email"], is_active=True).first()
    if user is None:
        return Built(
            None,
            after=lambda: events.record("password_reset_requested", client=client, known=False),
            reason="no active account has this address",
        )
    link = front_end_link(
        settings.AUTHSVC_PASSWORD_RESET_PATH,
        uid=reset_uid(user),
        token=reset_tokens.make_token(user),
    )
    message = templated_mail(
        template="password_reset",
        to=user.email,
        context={
            "name": user.name,
            "email": user.email,
            "link": link,
            "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        },
        language=params.get("language"),
    )
    return Built(
        message,
        after=lambda: events.record(
            "password_reset_requested", user_id=str(user.pk), client=client, known=True
        ),
    )


def _user_from_uid(uid: str) -> User | None:
    try:
        pk = uuid.UUID(bytes=urlsafe_base64_decode(uid))
    except (ValueError, TypeError):
        try:
            pk = uuid.UUID(force_str(uid))
        except (ValueError, TypeError):
            return None
    return User.objects.select_for_update().filter(pk=pk).first()


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str, client: ClientInfo) -> None:
    user = _user_from_uid(uid)
    if user is None or not user.is_active or not reset_tokens.check_token(user, token):
        events.record("password_reset_failed", client=client)
        raise ResetTokenInvalid()
    password_check(new_password, user=user, field="new_password")
    user.set_password(new_password)
    # The link arrived by email, so the address is proven.
    user.email_verified = True
    user.save(update_fields=["password", "email_verified"])
    revoked = user_sessions_revoke(user_id=user.pk, reason="password_reset")
    # The owner proved the mailbox: whoever was guessing the old password no longer matters.
    lockout.login_failures_clear(user.email)
    events.record("password_reset", user_id=str(user.pk), client=client, revoked=revoked)


@transaction.atomic
def password_set_by_operator(
    *,
    user: User,
    new_password: str | None,
    by: User | None = None,
    client: ClientInfo | None = None,
    keep_session_id=None,
) -> int:
    """An operator (the admin's password forms, `manage.py changepassword`) sets a password,
    already checked by the caller's form against AUTH_PASSWORD_VALIDATORS, or none at all
    (None: password logins off). Every session of the user ends but `keep_session_id` (the
    admin changing their own password keeps the page they are on); returns how many ended."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if new_password is None:
        locked.set_unusable_password()
    else:
        locked.set_password(new_password)
    locked.save(update_fields=["password"])
    # The caller's object too: Django re-keys its session with the new hash.
    user.password = locked.password
    revoked = user_sessions_revoke(
        user_id=locked.pk, reason="password_set", keep_session_id=keep_session_id
    )
    events.record(
        "password_set",
        user_id=str(locked.pk),
        sid=str(keep_session_id) if keep_session_id else None,
        client=client,
        by=str(by.pk) if by else None,
        revoked=revoked,
    )
    return revoked
