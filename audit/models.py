from django.conf import settings
from django.db import models


class AuthEvent(models.Model):
    """One security event (`audit.events.record`): who, from where, when, and a few
    details. Never a password, a token or a code."""

    type = models.CharField(max_length=64)
    # No database constraint: events are also written on a connection of their own (see
    # audit.events), which cannot see a user created in the caller's open transaction;
    # and an event outlives its user, keeping the id.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    session_id = models.UUIDField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["user", "-created_at"], name="authevent_user_recent_idx"),
            models.Index(fields=["created_at"], name="authevent_created_idx"),
            models.Index(fields=["type", "-created_at"], name="authevent_type_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.created_at:%Y-%m-%d %H:%M:%S}"
