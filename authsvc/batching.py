"""Deleting many rows without holding long locks (for `purge_expired`)."""

import time

from django.conf import settings
from django.db.models import QuerySet


def delete_in_batches(queryset: QuerySet, *, batch_size: int, pause: float | None = None) -> int:
    """Delete the rows of `queryset`, `batch_size` primary keys per statement, each batch in
    its own short transaction; returns how many rows of the queryset's model went.

    One `DELETE ... WHERE expires_at < now` over millions of rows would hold its locks and
    bloat the WAL for as long as it runs; small batches let the service carry on meanwhile.
    A pause between batches (AUTHSVC_PURGE_PAUSE_MS) leaves the CPU and the disk to the
    requests: a purge has all night, a refresh has milliseconds.
    """
    if pause is None:
        pause = settings.AUTHSVC_PURGE_PAUSE_MS / 1000
    model = queryset.model
    label = model._meta.label
    deleted = 0
    while True:
        batch = list(queryset.order_by().values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        # Model deletes (not raw SQL) so cascades and SET_NULLs run as for any delete.
        _, per_model = model._default_manager.filter(pk__in=batch).delete()
        deleted += per_model.get(label, 0)
        if len(batch) == batch_size and pause:
            time.sleep(pause)
