import uuid

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


class ServiceClient(models.Model):
    """A back-end service that authenticates with a client id and secret (OAuth 2.0 client
    credentials) to get service tokens and to introspect users' tokens. Only a SHA-256 of
    the secret is kept (tokens/service_clients.py says why a fast hash is enough)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.CharField(max_length=64, unique=True, editable=False)
    name = models.CharField(max_length=150, unique=True)
    secret_hash = models.CharField(max_length=64, editable=False)
    # Service tokens carry it (`cv`); each rotation increments it, so older tokens die.
    secret_version = models.PositiveIntegerField(default=1, editable=False)
    # What the client may ask for: scopes (e.g. "introspect", "sessions:claims") and the
    # audiences of the services it may call. authsvc's own audience is always allowed.
    scopes = models.JSONField(default=list, blank=True)
    audiences = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    secret_rotated_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"
