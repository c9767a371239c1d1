"""The long-running worker (`manage.py send_queued_mail`): send what is due, wait for a
wake-up or the poll, again.

The web processes NOTIFY `WAKE_CHANNEL` after each commit that queued mail, so a new mail
goes within milliseconds; the poll (AUTHSVC_MAIL_POLL_MS) finds retries coming due and any
wake-up that was missed (rows queued on SQLite, a worker that was restarting). While the
SMTP server is down each row waits out its own backoff (mailqueue/delivery.py); while
PostgreSQL is down the worker retries with backoff up to `DATABASE_RETRY_MAX_SECONDS`. Any
number of workers may run: they share the rows with SKIP LOCKED.
"""

import contextlib
import logging
import threading

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection

from mailqueue.delivery import DeliveryReport, mail_deliver_due
from mailqueue.queue import WAKE_CHANNEL

logger = logging.getLogger("authsvc.mail")

DATABASE_RETRY_MAX_SECONDS = 30.0
# How often a wait checks the stop flag: a SIGTERM ends the worker within this.
STOP_CHECK_SECONDS = 0.25


class MailWorker:
    def __init__(self, *, stop: threading.Event | None = None):
        self.stop = stop or threading.Event()
        self.listening = False
        self.failures = 0

    def once(self) -> DeliveryReport:
        return mail_deliver_due(stop=self.stop)

    def run(self) -> None:
        logger.info("mail worker started")
        try:
            while not self.stop.is_set():
                self._step()
        finally:
            with contextlib.suppress(DatabaseError):
                connection.close()
            logger.info("mail worker stopped")

    def _step(self) -> None:
        try:
            self._listen()
            report = mail_deliver_due(stop=self.stop)
            if self.failures:
                logger.warning("mail worker: database back after %s failure(s)", self.failures)
                self.failures = 0
            if report.attempted:
                logger.debug("mail worker: %s", report)
            self._wait()
        # psycopg's own errors too: waiting for a NOTIFY reads the raw connection.
        except (DatabaseError, psycopg.Error) as error:
            self.listening = False
            with contextlib.suppress(DatabaseError):
                connection.close()
            self.failures += 1
            poll = settings.AUTHSVC_MAIL_POLL_MS / 1000
            delay = min(poll * 2 ** min(self.failures - 1, 20), DATABASE_RETRY_MAX_SECONDS)
            logger.warning(
                "mail worker: database unavailable (%s); retrying in %.1f s", error, delay
            )
            self.stop.wait(delay)

    def _listen(self) -> None:
        if self.listening or connection.vendor != "postgresql":
            return
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {WAKE_CHANNEL}")
        self.listening = True

    def _wait(self) -> None:
        """Until a NOTIFY (one that came during the pass counts: it is already queued on the
        connection), the poll interval, or a stop."""
        remaining = settings.AUTHSVC_MAIL_POLL_MS / 1000
        if not self.listening:
            self.stop.wait(remaining)
            return
        while remaining > 0 and not self.stop.is_set():
            step = min(remaining, STOP_CHECK_SECONDS)
            for _ in connection.connection.notifies(timeout=step, stop_after=1):
                return
            remaining -= step
