"""Single-use links: password reset (Django's generator), email verification and email
change (signed)."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from authsvc import clock

EMAIL_VERIFY_SALT = "authsvc.accounts.email-verify"
EMAIL_CHANGE_SALT = "authsvc.accounts.email-change"


class ResetTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset tokens, on our clock. A token dies when the password or last login
    changes, so it works once, and after PASSWORD_RESET_TIMEOUT."""

    def _now(self):
        return clock.now().replace(tzinfo=None)


reset_tokens = ResetTokenGenerator()


def email_verify_key_make(user) -> str:
    # The address is part of the signed value: a key stops working if the email changes.
    issued = int(clock.now().timestamp())
    return signing.dumps({"u": str(user.pk), "e": user.email, "t": issued}, salt=EMAIL_VERIFY_SALT)


def email_verify_key_read(key: str) -> tuple[str, str] | None:
    """(user id, email) of a valid, unexpired key, else None."""
    try:
        payload = signing.loads(key, salt=EMAIL_VERIFY_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not {"u", "e", "t"} <= payload.keys():
        return None
    age = clock.now().timestamp() - payload["t"]
    if not 0 <= age <= settings.AUTHSVC_EMAIL_VERIFY_TTL_SECONDS:
        return None
    return payload["u"], payload["e"]


@dataclass(frozen=True, slots=True)
class EmailChangeKey:
    user_id: str
    account_mac: str
    new_email: str
    session_id: str


def _account_mac(user) -> str:
    # A key is bound to the current address and password hash: once the email changes (by
    # this link or another) every such key is dead, so each works once; and a password
    # reset or change (what the notice to the old address advises) voids a change asked
    # for by whoever knew the old password. Keyed, so the link (readable base64, mailed to
    # an address that may be a typo) neither shows the current address nor lets anyone
    # test guesses of it.
    return salted_hmac(EMAIL_CHANGE_SALT, f"{user.email}\n{user.password}").hexdigest()[:32]


def email_change_key_make(*, user, new_email: str, session_id: str) -> str:
    issued = int(clock.now().timestamp())
    payload = {
        "u": str(user.pk),
        "c": _account_mac(user),
        "n": new_email,
        "s": str(session_id),
        "t": issued,
    }
    return signing.dumps(payload, salt=EMAIL_CHANGE_SALT)


def email_change_key_read(key: str) -> EmailChangeKey | None:
    """What a valid, unexpired email change key asks for, else None. The caller still
    checks `email_change_key_matches` against the user as they are now."""
    try:
        payload = signing.loads(key, salt=EMAIL_CHANGE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not {"u", "c", "n", "s", "t"} <= payload.keys():
        return None
    age = clock.now().timestamp() - payload["t"]
    if not 0 <= age <= settings.AUTHSVC_EMAIL_CHANGE_TTL_SECONDS:
        return None
    return EmailChangeKey(
        user_id=payload["u"],
        account_mac=payload["c"],
        new_email=payload["n"],
        session_id=payload["s"],
    )


def email_change_key_matches(key: EmailChangeKey, user) -> bool:
    return email_change_account_matches(user, key.account_mac)


def email_change_account_mac(user) -> str:
    """What a key made now would be bound to: queued with the email change mail, so the
    key made when it is sent is bound to the account as it was when the change was asked."""
    return _account_mac(user)


def email_change_account_matches(user, account_mac: str) -> bool:
    return constant_time_compare(account_mac, _account_mac(user))
