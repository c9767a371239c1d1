"""Sending the queue. Each due row is first claimed, in a short transaction of its own:
`SELECT ... FOR UPDATE SKIP LOCKED`, its attempt counted and its next one set
`CLAIM_SECONDS` away, committed. Then it is built and handed to the SMTP server outside any
transaction, and marked in another short one. So several workers (and the web processes
sending on commit) share the queue and never send a row twice (a claimed row is neither
locked-and-waited-for nor due for anyone else), while no transaction, row lock or pooled
server connection is held during the SMTP conversation (which could outlast PostgreSQL's
idle-in-transaction timeout). Delivery is at least once: a worker that dies between the
server's "250 OK" and the mark leaves the row to come due again after its claim, and it goes
twice; the attempt was counted, so even that repeats a bounded number of times.

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
from django.db.models import F, QuerySet

from authsvc import clock
from authsvc.batching import delete_in_batches
from authsvc.logs import request_id_context
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
# A claimed row is not due again for this long: far longer than a send can take (Django's
# SMTP backend waits at most EMAIL_TIMEOUT for each of a handful of steps), so no other
# worker takes it while it is being sent, and short enough that a row whose worker died
# mid-send goes soon after.
CLAIM_SECONDS = 300


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
            row = _claim(QueuedMail.objects.order_by("next_attempt_at", "id"))
            if row is None:
                break
            report.add(_attempt(row, sender))
            if sender.unreachable:
                report.unreachable = True
                break
    finally:
        sender.close()
    return report


def mail_deliver_rows(ids: Iterable[int]) -> DeliveryReport:
    """One attempt at each of these rows that is still due and not claimed elsewhere (the
    web process's send on commit); a failure is left to the worker's retries."""
    report = DeliveryReport()
    sender = _Sender()
    try:
        for pk in ids:
            row = _claim(QueuedMail.objects.filter(pk=pk))
            if row is not None:
                report.add(_attempt(row, sender))
    finally:
        sender.close()
    return report


def _claim(candidates: QuerySet) -> QueuedMail | None:
    """The first due row of `candidates`, its attempt counted and its next one pushed
    `CLAIM_SECONDS` away, committed before anything is sent: no transaction (nor row lock,
    nor pooled server connection) is held while the SMTP server talks, yet no other worker
    takes the row meanwhile, and a worker that dies mid-send leaves an attempt counted and a
    row that comes due again."""
    with transaction.atomic():
        # SKIP LOCKED: a row another worker is claiming is neither waited for nor taken.
        row = (
            candidates.filter(status=PENDING, next_attempt_at__lte=clock.now())
            .select_for_update(skip_locked=True)
            .first()
        )
        if row is None:
            return None
        now = clock.now()
        row.attempts += 1
        row.last_attempt_at = now
        row.next_attempt_at = now + timedelta(seconds=CLAIM_SECONDS)
        row.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
    return row


def _attempt(row: QueuedMail, sender: _Sender) -> str:
    with request_id_context(row.request_id or None):
        return _attempt_in_context(row, sender)


def _attempt_in_context(row: QueuedMail, sender: _Sender) -> str:
    try:
        built = mail_build(row.kind, row.params)
    except DatabaseError:
        raise  # the worker's to handle; the claimed row comes due again
    except Exception as error:  # a bug in a builder or a template: retried, then given up
        logger.exception("mail %s (%s) could not be built", row.pk, row.kind)
        return _failed(row, error)
    if built.message is None:
        _finish(row, SKIPPED, built, last_error=built.reason[:ERROR_MAX_LENGTH])
        return SKIPPED
    try:
        sender.open()
    except Exception as error:
        sender.reset()
        sender.unreachable = True
        return _failed(row, error)
    try:
        sender.send(built.message)
    except Exception as error:
        sender.reset()  # the session may be broken: the next row opens a new one
        return _failed(row, error, permanent=_refused_for_good(error))
    to = ", ".join(built.message.to)[: QueuedMail._meta.get_field("to").max_length]
    if _finish(row, SENT, built, to=to):
        logger.info("mail %s (%s) sent on attempt %s", row.pk, row.kind, row.attempts)
    return SENT


def _finish(row: QueuedMail, status: str, built: Built, **fields) -> bool:
    """Mark the claimed row (and run its hook, in the same transaction); False when the
    claim was lost (it outlived CLAIM_SECONDS and another worker took the row)."""
    with transaction.atomic():
        marked = _claimed(row).update(status=status, finished_at=clock.now(), **fields)
        if marked:
            _after(built, row)
    if not marked:
        logger.warning(
            "mail %s (%s): its claim expired before it was marked %s; it may go twice",
            row.pk,
            row.kind,
            status,
        )
    return bool(marked)


def _claimed(row: QueuedMail) -> QuerySet:
    return QueuedMail.objects.filter(pk=row.pk, status=PENDING, attempts=row.attempts)


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


def _failed(row: QueuedMail, error: Exception, *, permanent: bool = False) -> str:
    last_error = f"{type(error).__name__}: {error}"[:ERROR_MAX_LENGTH]
    now = clock.now()
    if permanent or row.attempts >= settings.AUTHSVC_MAIL_MAX_ATTEMPTS:
        _claimed(row).update(status=FAILED, finished_at=now, last_error=last_error)
        logger.error(
            "mail %s (%s) given up after %s attempt(s): %s; retry it from the admin or with "
            "`manage.py send_queued_mail --retry-failed`",
            row.pk,
            row.kind,
            row.attempts,
            last_error,
        )
        return FAILED
    wait = backoff_seconds(row.attempts)
    _claimed(row).update(next_attempt_at=now + timedelta(seconds=wait), last_error=last_error)
    logger.warning(
        "mail %s (%s) attempt %s failed (%s); next attempt in %.0f s",
        row.pk,
        row.kind,
        row.attempts,
        last_error,
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
        # Not a row being sent right now (its claim is live): it would go twice.
        waiting = rows.filter(status=PENDING).exclude(
            next_attempt_at=F("last_attempt_at") + timedelta(seconds=CLAIM_SECONDS),
            next_attempt_at__gt=now,
        )
        retried += waiting.update(next_attempt_at=now)
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
