from datetime import datetime, timedelta

from django.db.models import Q

from authsvc.batching import delete_in_batches
from sessions_store.models import Session


def sessions_purge(*, now: datetime, retention: timedelta, batch_size: int) -> int:
    """Delete sessions revoked or expired more than `retention` ago, with their refresh
    tokens (cascade). Live sessions and recently ended ones (still shown to operators) stay."""
    cutoff = now - retention
    dead = Session.objects.filter(Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff))
    return delete_in_batches(dead, batch_size=batch_size)
