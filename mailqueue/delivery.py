"""Sending the queue: each row in a short transaction of its own, claimed with
`SELECT ... FOR UPDATE SKIP LOCKED`, built, handed to the SMTP server and marked, in that
transaction. So several workers (and the web processes sending on commit) share the queue
and never send a row twice: the row stays locked from the claim until it is marked, and
everyone else skips it. One row per transaction, so a worker that dies mid-pass leaves at
most one row to be sent again: delivery is at least once (a crash between the server's
"250 OK" and the commit sends that mail twice), never at most once.

A failed attempt sets the row's next attempt after a backoff (`backoff_seconds`); after
AUTHSVC_MAIL_MAX_ATTEMPTS, or when the server refuses the address for good (5xx for every
recipient), the row is `failed`: logged as an error, listed in the admin, retried only when
an operator says so (`mail_retry`). When the SMTP server cannot even be reached, the pass
stops after that one row rather than wait a connection timeout for every due row.
"""

import contextlib
import logging
import random
import smtplib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import DatabaseError, transaction
from django.db.models import QuerySet

from authsvc import clock
from authsvc.batching import delete_in_batches
from mailqueue.models import QueuedMail
from mailqueue.queue import after_commit, mail_worker_wake
from mailqueue.registry import Built, mail_build

logger = logging.getLogger("authsvc.mail")

PENDING, SENT, SKIPPED, FAILED = (
    QueuedMail.Status.PENDING,
    QueuedMail.Status.SENT,
    QueuedMail.Status.SKIPPED,
    QueuedMail.Status.FAILED,
)
RETRY = "retry"  # an attempt failed, the row waits for its next one
ERROR_MAX_LENGTH = 500


@dataclass
class DeliveryReport:
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    # The SMTP server could not be reached: the pass stopped early.
    unreachable: bool = False

    def add(self, outcome: str) -> None:
        field = {SENT: "sent", SKIPPED: "skipped", RETRY: "retried", FAILED: "failed"}[outcome]
        setattr(self, field, getattr(self, field) + 1)

    @property
    def attempted(self) -> int:
        return self.sent + self.skipped + self.retried + self.failed

    def __str__(self) -> str:
        return (
            f"Sent {self.sent}, skipped {self.skipped}, to retry {self.retried}, "
            f"given up {self.failed}."
        )


def backoff_seconds(attempts: int, *, rand=random.random) -> float:
    """The wait after the `attempts`-th failed attempt: base * 2^(attempts-1) up to the cap,
    less up to half of it at random, so a backlog queued in the same outage does not come
    back to the recovering server in one burst."""
    delay = min(
        settings.AUTHSVC_MAIL_BACKOFF_SECONDS * 2 ** min(max(attempts, 1) - 1, 30),
        settings.AUTHSVC_MAIL_BACKOFF_MAX_SECONDS,
    )
    return delay * (0.5 + rand() / 2)


class _Sender:
    """One SMTP connection (Django's EMAIL_BACKEND) for a pass, reopened after a failure."""

    def __init__(self) -> None:
        self.backend = get_connection()
        self.unreachable = False

    def open(self) -> None:
        self.backend.open()

    def send(self, message) -> None:
        self.backend.send_messages([message])

    def reset(self) -> None:
        with contextlib.suppress(Exception):
            self.backend.close()

    close = reset


def mail_deliver_due(*, limit: int | None = None, stop: threading.Event | None = None):
    """Send the due rows, soonest first, until none is due (or `limit`, or `stop`, or the
    SMTP server is unreachable); what became of them."""
    report = DeliveryReport()
    sender = _Sender()
    try:
        while not (stop is not None and stop.is_set()) and (
            limit is None or report.attempted < limit
        ):
            due = QueuedMail.objects.filter(status=PENDING, next_attempt_at__lte=clock.now())
            outcome = _deliver_one(sender, due.order_by("next_attempt_at", "id"))
            if outcome is None:
                break
            report.add(outcome)
            if sender.unreachable:
                report.unreachable = True
                break
    finally:
        sender.close()
    return report


def mail_deliver_rows(ids: Iterable[int]) -> DeliveryReport:
    """One attempt at each of these rows that is still pending and not being sent elsewhere
    (the web process's send on commit); a failure is left to the worker's retries."""
    report = DeliveryReport()
    sender = _Sender()
    try:
        for pk in ids:
            outcome = _deliver_one(sender, QueuedMail.objects.filter(pk=pk, status=PENDING))
            if outcome is not None:
                report.add(outcome)
    finally:
        sender.close()
    return report


def _deliver_one(sender: _Sender, candidates: QuerySet) -> str | None:
    with transaction.atomic():
        # SKIP LOCKED: a row another worker is sending is not waited for, nor sent again.
        row = candidates.select_for_update(skip_locked=True).first()
        if row is None:
            return None
        return _attempt(row, sender)


def _attempt(row: QueuedMail, sender: _Sender) -> str:
    now = clock.now()
    row.attempts += 1
    row.last_attempt_at = now
    try:
        built = mail_build(row.kind, row.params)
    except DatabaseError:
        raise  # the transaction is gone: the caller's to handle, the row stays as it was
    except Exception as error:  # a bug in a builder or a template: retried, then given up
        logger.exception("mail %s (%s) could not be built", row.pk, row.kind)
        return _failed(row, error, now)
    if built.message is None:
        row.status, row.finished_at = SKIPPED, now
        row.last_error = built.reason[:ERROR_MAX_LENGTH]
        row.save()
        _after(built, row)
        return SKIPPED
    try:
        sender.open()
    except Exception as error:
        sender.reset()
        sender.unreachable = True
        return _failed(row, error, now)
    try:
        sender.send(built.message)
    except Exception as error:
        sender.reset()  # the session may be broken: the next row opens a new one
        return _failed(row, error, now, permanent=_refused_for_good(error))
    row.status, row.finished_at = SENT, now
    row.to = ", ".join(built.message.to)[: QueuedMail._meta.get_field("to").max_length]
    row.save()
    logger.info("mail %s (%s) sent on attempt %s", row.pk, row.kind, row.attempts)
    _after(built, row)
    return SENT


def _after(built: Built, row: QueuedMail) -> None:
    if built.after is None:
        return
    try:
        built.after()
    except DatabaseError:
        raise
    except Exception:  # an audit hook's failure must not send the mail a second time
        logger.exception("mail %s (%s): after-send hook failed", row.pk, row.kind)


def _refused_for_good(error: Exception) -> bool:
    """Every recipient refused with a permanent (5xx) reply: retrying cannot help."""
    if not isinstance(error, smtplib.SMTPRecipientsRefused) or not error.recipients:
        return False
    return all(code >= 500 for code, _ in error.recipients.values())


def _failed(row: QueuedMail, error: Exception, now: datetime, *, permanent: bool = False) -> str:
    row.last_error = f"{type(error).__name__}: {error}"[:ERROR_MAX_LENGTH]
    if permanent or row.attempts >= settings.AUTHSVC_MAIL_MAX_ATTEMPTS:
        row.status, row.finished_at = FAILED, now
        row.save()
        logger.error(
            "mail %s (%s) given up after %s attempt(s): %s; retry it from the admin or with "
            "`manage.py send_queued_mail --retry-failed`",
            row.pk,
            row.kind,
            row.attempts,
            row.last_error,
        )
        return FAILED
    wait = backoff_seconds(row.attempts)
    row.next_attempt_at = now + timedelta(seconds=wait)
    row.save()
    logger.warning(
        "mail %s (%s) attempt %s failed (%s); next attempt in %.0f s",
        row.pk,
        row.kind,
        row.attempts,
        row.last_error,
        wait,
    )
    return RETRY


@transaction.atomic
def mail_retry(*, ids: Iterable[int] | None = None) -> int:
    """Make these rows (None: every failed one) due now: a pending row keeps its attempts, a
    failed one starts a fresh series. Sent and skipped rows are left alone. How many."""
    rows = QueuedMail.objects.all() if ids is None else QueuedMail.objects.filter(pk__in=ids)
    now = clock.now()
    retried = 0
    if ids is not None:
        retried += rows.filter(status=PENDING).update(next_attempt_at=now)
    retried += rows.filter(status=FAILED).update(
        status=PENDING, attempts=0, next_attempt_at=now, finished_at=None
    )
    if retried:
        after_commit(mail_worker_wake)
    return retried


def mail_purge(
    *, now: datetime, retention: timedelta, failed_retention: timedelta, batch_size: int
) -> int:
    """Delete mail sent or skipped more than `retention` ago, and mail given up more than
    `failed_retention` ago; pending mail is never deleted."""
    done = QueuedMail.objects.filter(status__in=[SENT, SKIPPED], finished_at__lt=now - retention)
    failed = QueuedMail.objects.filter(status=FAILED, finished_at__lt=now - failed_retention)
    return delete_in_batches(done, batch_size=batch_size) + delete_in_batches(
        failed, batch_size=batch_size
    )
