"""The in-process fast path: a request whose transaction wrote outbox rows wakes a
background thread of its own process on commit (`relay_wake`, which only sets a flag), so a
logout reaches the stream in milliseconds rather than at the relay's next poll.

The thread, never the request, does the work. On PostgreSQL it tries the relay's advisory
lock: free (no relay process is leading), it publishes itself and lets go; taken, it NOTIFYs
the leading relay, which LISTENs. The NOTIFY is its own tiny transaction, so requests'
commits never queue on NOTIFY's commit-time lock. Behind PgBouncer (audit/relay.py) it
waits for the transaction-level lock, which a relay holds only for a batch, and publishes
itself. On SQLite (one process) it publishes under a lock of this process. Any failure is
logged and counted and left to the relay, which republishes whatever was not marked sent.
"""

import logging
import os
import threading

from django.db import DatabaseError, OperationalError, close_old_connections, connection
from psycopg.errors import LockNotAvailable

from audit.relay import (
    WAKE_CHANNEL,
    Leadership,
    drain,
    drain_exclusive,
    pooled,
    stats,
    stream_client,
)
from authsvc.redis_guard import REDIS_ERRORS, redis_allowed, redis_failed

logger = logging.getLogger("authsvc.relay")

_wake = threading.Event()
_start_lock = threading.Lock()
_started_in: int | None = None  # the pid that started the thread: a forked worker starts its own
_sqlite_lock = threading.Lock()
_client = None
# The thread closes its database connection after this long without a wake-up.
IDLE_CLOSE_SECONDS = 30.0
# Behind PgBouncer: how long the thread waits for a relay's batch to end.
POOLED_LOCK_WAIT_MS = 2000


def relay_wake() -> None:
    global _started_in
    if _started_in != os.getpid():
        with _start_lock:
            if _started_in != os.getpid():
                threading.Thread(target=_run, name="authsvc-relay-fastpath", daemon=True).start()
                _started_in = os.getpid()
    _wake.set()


def _run() -> None:
    while True:
        if not _wake.wait(IDLE_CLOSE_SECONDS):
            # Idle: give the connection back rather than hold it for the process's life.
            connection.close()
            continue
        _wake.clear()
        try:
            fast_publish()
        except Exception:
            stats.failed()
            logger.exception("relay fast path failed; the relay will publish")
            connection.close()


def fast_publish() -> int:
    """Publish now if no relay leads, else wake the one that does; how many were published."""
    close_old_connections()
    if connection.vendor != "postgresql":
        with _sqlite_lock:
            return _publish()
    if pooled():
        # Behind PgBouncer nobody LISTENs: wait for a relay's batch to end, then publish.
        try:
            return _publish(wait_ms=POOLED_LOCK_WAIT_MS)
        except OperationalError as error:
            if not isinstance(error.__cause__, LockNotAvailable):
                raise
            # The lock stayed taken (a long batch): the relay's next poll publishes these.
            logger.info("relay fast path: the relay lock stayed taken; the relay will publish")
            return 0
    leadership = Leadership()
    try:
        if not leadership.acquire():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])
            return 0
        return _publish()
    except DatabaseError:
        leadership.lost()
        raise
    finally:
        if leadership.held:
            leadership.release()


def _publish(*, wait_ms: int | None = None) -> int:
    global _client
    if not redis_allowed():
        return 0
    if _client is None:
        _client = stream_client()
    try:
        if wait_ms is not None:
            return drain_exclusive(_client, wait_ms=wait_ms) or 0
        return drain(_client)
    except REDIS_ERRORS:
        stats.failed()
        redis_failed()
        logger.warning("relay fast path: redis unavailable; the relay will publish")
        return 0
