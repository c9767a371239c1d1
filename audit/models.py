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


class OutboxEvent(models.Model):
    """An event for other services, written in the transaction of the change it describes
    (audit/outbox.py) and published to the Redis Stream by the relay (audit/relay.py)."""

    # Insert order, not commit order: the relay re-reads every unsent row (see relay.py).
    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)  # the stream entry's `id`: consumers dedupe on it
    type = models.CharField(max_length=40)
    occurred_at = models.DateTimeField()
    # Plain values, not foreign keys: an event outlives the user or session it names.
    user_id = models.CharField(max_length=64, blank=True)
    session_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The relay's every read: the unsent rows in id order; as small as the backlog.
            models.Index(
                fields=["id"], condition=models.Q(sent_at__isnull=True), name="outbox_unsent_idx"
            ),
            # The purge: published rows by age.
            models.Index(
                fields=["sent_at"],
                condition=models.Q(sent_at__isnull=False),
                name="outbox_sent_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
