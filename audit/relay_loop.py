"""The long-running relay (`manage.py relay_events`): lead, drain, wait for a wake-up, again.

While Redis is down it retries with exponential backoff (from
`AUTHSVC_EVENTS_RELAY_BACKOFF_MS` up to `AUTHSVC_EVENTS_RELAY_BACKOFF_MAX_MS`); nothing is
marked sent that Redis did not take, so nothing is lost, however long the outage. A database
error costs the leadership (the advisory lock lives on the connection) and is retried the
same way. Requests never wait for any of this: they only insert their outbox rows.
"""

import contextlib
import logging
import threading

from django.conf import settings
from django.db import DatabaseError, connection

from audit.relay import (
    WAKE_CHANNEL,
    Leadership,
    drain,
    drain_exclusive,
    pooled,
    stats,
    stream_client,
)
from authsvc.redis_guard import REDIS_ERRORS

logger = logging.getLogger("authsvc.relay")


class RelayLoop:
    def __init__(self, client=None, *, stop: threading.Event | None = None):
        self.client = client or stream_client()
        self.stop = stop or threading.Event()
        self.leadership = Leadership()
        self.listening = False
        self.failures = 0

    def once(self) -> int | None:
        """One drain under the lock; how many were published, None if another relay leads."""
        if pooled():
            return drain_exclusive(self.client)
        if not self.leadership.acquire():
            return None
        try:
            return drain(self.client)
        finally:
            self.leadership.release()

    def run(self) -> None:
        logger.info("relay started (stream %s)", settings.AUTHSVC_EVENTS_STREAM)
        try:
            while not self.stop.is_set():
                self._step()
        finally:
            with contextlib.suppress(DatabaseError):
                self.leadership.release()
            connection.close()
            logger.info("relay stopped")

    def _step(self) -> None:
        try:
            published = self._drain()
            if published is None:
                # A hot standby: take over within a poll interval of the leader's end.
                self.stop.wait(settings.AUTHSVC_EVENTS_RELAY_POLL_MS / 1000)
                return
        except REDIS_ERRORS as error:
            self._failed("redis", error)
            return
        except DatabaseError as error:
            self.leadership.lost()
            self.listening = False
            self._failed("database", error)
            return
        if self.failures:
            logger.warning("relay recovered after %s failed attempt(s)", self.failures)
            self.failures = 0
        if published:
            logger.debug("relay published %s event(s)", published)
        try:
            self._wait()
        except DatabaseError as error:
            self.leadership.lost()
            self.listening = False
            self._failed("database", error)

    def _drain(self) -> int | None:
        if pooled():
            # Behind PgBouncer: the lock per batch, and polling (audit/relay.py).
            return drain_exclusive(self.client)
        if not self.leadership.acquire():
            return None
        self._listen()
        return drain(self.client)

    def _failed(self, what: str, error: Exception) -> None:
        stats.failed()
        self.failures += 1
        delay_ms = min(
            settings.AUTHSVC_EVENTS_RELAY_BACKOFF_MS * 2 ** min(self.failures - 1, 20),
            settings.AUTHSVC_EVENTS_RELAY_BACKOFF_MAX_MS,
        )
        logger.warning("relay: %s unavailable (%s); retrying in %s ms", what, error, delay_ms)
        self.stop.wait(delay_ms / 1000)

    def _listen(self) -> None:
        if self.listening or connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {WAKE_CHANNEL}")
        self.listening = True

    def _wait(self) -> None:
        """Until a web process's fast path says rows committed, or the poll interval ends
        (rows written by a process without the fast path, or a missed wake-up)."""
        timeout = settings.AUTHSVC_EVENTS_RELAY_POLL_MS / 1000
        if not self.listening:
            self.stop.wait(timeout)
            return
        # Short slices, so a SIGTERM is honoured within a fraction of a second.
        remaining = timeout
        while remaining > 0 and not self.stop.is_set():
            step = min(remaining, 0.25)
            for _ in connection.connection.notifies(timeout=step, stop_after=1):
                return
            remaining -= step
