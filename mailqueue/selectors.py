"""Reads of the queue, for probes, metrics and the operators."""

from dataclasses import dataclass

from django.db.models import Count, Min

from authsvc import clock
from mailqueue.models import QueuedMail


@dataclass(frozen=True, slots=True)
class MailBacklog:
    pending: int
    # Age of the oldest pending mail, 0 when none waits: how late mail is (alert when it grows).
    oldest_pending_seconds: float
    failed: int


def mail_backlog() -> MailBacklog:
    pending = QueuedMail.objects.filter(status=QueuedMail.Status.PENDING).aggregate(
        count=Count("id"), oldest=Min("created_at")
    )
    oldest = pending["oldest"]
    age = max(0.0, (clock.now() - oldest).total_seconds()) if oldest else 0.0
    failed = QueuedMail.objects.filter(status=QueuedMail.Status.FAILED).count()
    return MailBacklog(pending=pending["count"], oldest_pending_seconds=age, failed=failed)
