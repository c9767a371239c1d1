"""Queueing: an email is a row written through the caller's connection, inside the caller's
transaction when there is one, so a rolled-back change sends nothing and a committed one
loses nothing, whatever the SMTP server is doing (the outbox's rule, audit/outbox.py).

After the commit the row is handed over: with AUTHSVC_MAIL_SEND_ON_COMMIT (development, the
tests) the web process sends it itself, once, leaving it to the worker if that fails;
otherwise it wakes the worker (`NOTIFY`), which also polls in case a wake-up is missed.
"""

from functools import partial

from django.conf import settings
from django.db import connection, transaction

from authsvc import clock
from authsvc.logs import current_request_id
from mailqueue.models import QueuedMail
from mailqueue.registry import mail_kinds

# Channel the worker LISTENs on (mailqueue/worker.py).
WAKE_CHANNEL = "authsvc_mail"


def mail_enqueue(kind: str, *, to: str, params: dict) -> QueuedMail:
    """Queue one email of a registered kind, in the caller's transaction."""
    # A typo fails here, in the caller's tests, not on the worker hours later.
    if kind not in mail_kinds():
        raise ValueError(f"unknown mail kind {kind!r}")
    now = clock.now()
    row = QueuedMail.objects.create(
        kind=kind,
        to=to,
        params=params,
        request_id=current_request_id() or "",
        created_at=now,
        next_attempt_at=now,
    )
    after_commit(partial(_hand_over, row.pk))
    return row


def after_commit(callback) -> None:
    """Runs at once without a transaction, after the commit within one, never after a
    rollback; a failure is logged and left to the worker, never the caller's error. (The
    tests replace this: their transaction never commits.)"""
    transaction.on_commit(callback, robust=True)


def _hand_over(pk: int) -> None:
    if settings.AUTHSVC_MAIL_SEND_ON_COMMIT:
        from mailqueue.delivery import mail_deliver_rows

        mail_deliver_rows([pk])
    else:
        mail_worker_wake()


def mail_worker_wake() -> None:
    """Wake the workers now rather than at their next poll. Its own tiny transaction, after
    the caller's commit: the commit never waits on NOTIFY's queue lock."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])
