"""Single-use links: password reset (Django's generator) and email verification (signed)."""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing

from authsvc import clock

EMAIL_VERIFY_SALT = "authsvc.accounts.email-verify"


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
