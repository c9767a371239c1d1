from django.db import models

from sessions_store.models import Session


class RefreshToken(models.Model):
    """One link of a session's refresh chain. Only the SHA-256 of the token is kept: the
    table leaking gives an attacker nothing to present."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="refresh_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # Set when this token was handed out a second time, to a retry of its parent presented
    # after the grace window (an answer that may have been lost). Such a token may be used
    # only once: presented again after its own grace window, it is theft.
    redelivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="refresh_expires_idx")]

    def __str__(self) -> str:
        return f"refresh token {self.pk} of session {self.session_id}"
