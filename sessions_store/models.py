import uuid

from django.conf import settings
from django.db import models


class Session(models.Model):
    """The durable record of one login; its id is the `sid` claim of the access token, or,
    for an admin site login, the id the admin's Django session holds."""

    API = "api"
    ADMIN = "admin"
    KINDS = [(API, "API"), (ADMIN, "Admin site")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_sessions"
    )
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    # How the user proved who they are, for the token's `amr` claim (RFC 8176 values).
    amr = models.JSONField(default=list)
    # When the session last proved a factor (login, or POST /auth/reauth/): the token's
    # `auth_time`, and what the step-up check reads. Refreshes never move it. Null only on
    # rows older than the column, whose login time is `created_at`.
    auth_time = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=64, blank=True)
    # An admin site session has no tokens; it ends by the same revocations as any other.
    # A database default too: a process of the previous release, still running while this one
    # migrates, inserts sessions without the column.
    kind = models.CharField(max_length=8, choices=KINDS, default=API, db_default=API)
    # Claims an authorization service sets (PUT /auth/sessions/<sid>/claims/, replaced whole,
    # bounded by sessions_store.claims): in the snapshot, introspection and, from the next
    # refresh, the access token (`permissions`, `attrs`). Database defaults for the same
    # reason as `kind`.
    permissions = models.JSONField(default=list, db_default=[])
    attributes = models.JSONField(default=dict, db_default={})

    class Meta:
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="session_user_live_idx"),
            models.Index(fields=["expires_at"], name="session_expires_idx"),
            # purge_expired finds sessions revoked long ago by this.
            models.Index(fields=["revoked_at"], name="session_revoked_idx"),
        ]

    def __str__(self) -> str:
        return f"session {self.id} of {self.user_id}"

    def authenticated_at(self):
        return self.auth_time or self.created_at

    def is_alive(self, at) -> bool:
        return self.revoked_at is None and self.expires_at > at


class PendingTombstone(models.Model):
    """A revocation whose tombstone could not be written to the store (Redis unreachable
    from the revoking process). Every process reads these rows into its deny set and any
    process that reaches Redis writes the tombstone and marks the row flushed
    (sessions_store/revocations.py); `purge_expired` deletes them once no cached snapshot
    can outlive them."""

    id = models.BigAutoField(primary_key=True)
    # No foreign keys: written on a connection of its own, maybe before the revocation
    # commits, and it must outlive a purged session.
    session_id = models.UUIDField()
    user_id = models.UUIDField()
    created_at = models.DateTimeField()
    flushed = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="pendingtomb_created_idx"),
            models.Index(
                fields=["id"],
                name="pendingtomb_unflushed_idx",
                condition=models.Q(flushed=False),
            ),
        ]

    def __str__(self) -> str:
        return f"pending tombstone of {self.session_id}"
