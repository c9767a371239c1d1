"""Reads and retention of the audit log (`AuthEvent`, written by `audit.events`)."""

from datetime import datetime, timedelta

from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet

from audit.models import AuthEvent
from authsvc.batching import delete_in_batches


def user_events(*, user_id, limit: int = 20, using: str = DEFAULT_DB_ALIAS) -> QuerySet[AuthEvent]:
    """The user's newest events first (index `authevent_user_recent_idx`)."""
    return (
        AuthEvent.objects.using(using)
        .filter(user_id=user_id)
        .order_by("-created_at", "-id")[:limit]
    )


def events_purge(*, now: datetime, retention_days: int, batch_size: int) -> int:
    old = AuthEvent.objects.filter(created_at__lt=now - timedelta(days=retention_days))
    return delete_in_batches(old, batch_size=batch_size)
