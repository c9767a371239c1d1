"""Deleting many rows without holding long locks (for `purge_expired`)."""

from django.db.models import QuerySet


def delete_in_batches(queryset: QuerySet, *, batch_size: int) -> int:
    """Delete the rows of `queryset`, `batch_size` primary keys per statement, each batch in
    its own short transaction; returns how many rows of the queryset's model went.

    One `DELETE ... WHERE expires_at < now` over millions of rows would hold its locks and
    bloat the WAL for as long as it runs; small batches let the service carry on meanwhile.
    """
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
