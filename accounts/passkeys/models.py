"""A user's passkeys and the WebAuthn challenges waiting for an answer (imported by
accounts/models.py, so they belong to the accounts app)."""

import uuid

from django.conf import settings
from django.db import models

# The factor a passkey proves, in the token's `amr` (RFC 8176): "swk" for a credential that
# can leave the device (synced, backup eligible), "hwk" for one bound to its hardware.
HARDWARE_KEY_AMR = "hwk"
SOFTWARE_KEY_AMR = "swk"


class Passkey(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys"
    )
    # The authenticator's id for the credential (up to 1023 bytes, WebAuthn §5.1).
    credential_id = models.BinaryField(max_length=1023, unique=True)
    # The COSE public key the assertions are verified with; no secret is stored.
    public_key = models.BinaryField()
    # The authenticator's signature counter; one that does not grow betrays a clone.
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True)
    backup_eligible = models.BooleanField(default=False)
    backed_up = models.BooleanField(default=False)
    name = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["user", "created_at"], name="passkey_user_created_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def amr(self) -> str:
        return SOFTWARE_KEY_AMR if self.backup_eligible else HARDWARE_KEY_AMR


class PasskeyChallenge(models.Model):
    """A challenge handed out in a ceremony's options, until it is answered once or expires.
    Keyed by the SHA-256 of the challenge the browser signs, so the answer itself names it."""

    REGISTER = "register"
    LOGIN = "login"
    MFA = "mfa"
    REAUTH = "reauth"
    PURPOSES = ((REGISTER, REGISTER), (LOGIN, LOGIN), (MFA, MFA), (REAUTH, REAUTH))

    digest = models.CharField(max_length=64, primary_key=True)
    purpose = models.CharField(max_length=16, choices=PURPOSES)
    # A registration and a reauth are the signed-in user's and their session's; a 2FA step
    # is its user's.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    session_id = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="passkeychallenge_expires_idx")]

    def __str__(self) -> str:
        return f"passkey {self.purpose} challenge"
