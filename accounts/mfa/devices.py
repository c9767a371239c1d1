"""Whether a user has 2FA on: a confirmed TOTP device (the backup codes come with it)."""

from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice


def user_has_totp(user) -> bool:
    # A login's user lookup annotates `has_totp` (one query for the user and the answer);
    # other callers ask the database.
    known = getattr(user, "has_totp", None)
    if known is not None:
        return bool(known)
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def has_totp_annotation() -> Exists:
    return Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
