"""The relay: outbox rows to the Redis Stream, in commit order, each marked sent once Redis
has it.

Commit order, and why no row is ever skipped. Ids come from a sequence at INSERT time, but
transactions commit in another order: a relay that remembered "the last id I sent" and read
`id > last` would skip a row whose transaction took a low id and committed late. So the relay
keeps no cursor: every pass reads the unsent rows (`sent_at IS NULL`, a partial index that
stays as small as the backlog) in id order. A row that commits late is simply found by a
later pass, so the stream receives rows in the order they became visible, i.e. commit order
across passes. Within one pass every row had committed before the read; among those, id
order keeps every causal order: a change made after another committed inserts its row after
that commit, so it has the higher id (a session's `session.revoked` always follows its
`session.created`, a ban follows the registration). What id order may reorder is only
transactions that overlapped in time, which no reader could order anyway.

One publisher at a time. Two relays reading the same unsent rows would publish them twice
and interleave out of order (SKIP LOCKED would split the batch between them, which is worse
for order), so on PostgreSQL a relay publishes only while it holds the session-level
advisory lock `RELAY_LOCK_KEY`; the others wait as hot standbys. SQLite has one process.

Behind PgBouncer in transaction pooling (`AUTHSVC_DB_POOLER=pgbouncer`) a session-level
lock would stay on whichever server connection took it, held for no one, and LISTEN hears
nothing. There every batch is one transaction that first takes the transaction-level form
of the same lock (`drain_exclusive`): one publisher per batch, each batch reading the rows
left unsent by the one before, and the lock ends with the transaction on whatever server
connection ran it. No LISTEN: the relays poll, and the web processes' fast path publishes
itself, waiting its turn for the lock.

Delivery is at least once: Redis may have an entry whose row was not yet marked sent when
the relay died, so a consumer deduplicates by `id`.
"""

import json
import logging
import threading

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min

from audit.models import OutboxEvent
from authsvc import clock, metrics
from authsvc.redis_url import redis_client

logger = logging.getLogger("authsvc.relay")

# pg_try_advisory_lock key of the one publishing relay ("authsvc relay" in ASCII, 8 bytes).
RELAY_LOCK_KEY = 0x6175_7468_7376_6372
# Channel the relay LISTENs on; the web processes' fast path NOTIFYs it (audit/fastpath.py).
WAKE_CHANNEL = "authsvc_outbox"
_FIELDS = ("id", "event_id", "type", "occurred_at", "user_id", "session_id", "data")


class _Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.errors = 0
        self.published = 0

    def failed(self) -> None:
        with self._lock:
            self.errors += 1
        metrics.relay_error()

    def sent(self, count: int) -> None:
        with self._lock:
            self.published += count
        metrics.relay_published(count)


stats = _Stats()


def relay_errors_total() -> int:
    """Failed publishing attempts in this process (a metric for the operations issue)."""
    return stats.errors


def outbox_lag_seconds() -> float:
    """Age of the oldest unsent outbox row, 0 when none waits: how far the stream is behind
    the database (a metric, and an alert when it grows)."""
    oldest = OutboxEvent.objects.filter(sent_at__isnull=True).aggregate(at=Min("occurred_at"))
    if oldest["at"] is None:
        return 0.0
    return max(0.0, (clock.now() - oldest["at"]).total_seconds())


def stream_client(url: str | None = None) -> redis.Redis:
    """A client of its own: the stream is written by the relay, never by a request, so it may
    wait longer than the session store's request-path timeouts. Any form of REDIS_URL: the
    stream is one key, so on a Cluster it lives on one node."""
    timeout = settings.AUTHSVC_EVENTS_REDIS_TIMEOUT_MS / 1000
    return redis_client(url or settings.REDIS_URL, socket_timeout=timeout)


def stream_entry(row: dict) -> dict[str, str]:
    """The contract's fields, all strings."""
    return {
        "id": str(row["event_id"]),
        "type": row["type"],
        "occurred_at": row["occurred_at"].isoformat().replace("+00:00", "Z"),
        "user_id": row["user_id"],
        "session_id": row["session_id"],
        "data": json.dumps(row["data"], separators=(",", ":"), sort_keys=True),
    }


def publish_batch(client: redis.Redis, *, batch_size: int | None = None) -> int:
    """Publish the oldest unsent rows (one pipeline), then mark them sent; how many. Redis
    errors propagate with nothing marked, so the same rows are published again next time."""
    batch_size = batch_size or settings.AUTHSVC_EVENTS_RELAY_BATCH_SIZE
    rows = list(
        OutboxEvent.objects.filter(sent_at__isnull=True)
        .order_by("id")
        .values(*_FIELDS)[:batch_size]
    )
    if not rows:
        return 0
    pipe = client.pipeline(transaction=False)
    for row in rows:
        pipe.xadd(
            settings.AUTHSVC_EVENTS_STREAM,
            stream_entry(row),
            maxlen=settings.AUTHSVC_EVENTS_STREAM_MAXLEN,
            approximate=True,
        )
    pipe.execute()
    OutboxEvent.objects.filter(id__in=[row["id"] for row in rows]).update(sent_at=clock.now())
    stats.sent(len(rows))
    return len(rows)


def drain(client: redis.Redis, *, batch_size: int | None = None) -> int:
    """Publish until nothing is left; how many."""
    total = 0
    while published := publish_batch(client, batch_size=batch_size):
        total += published
    return total


def pooled() -> bool:
    """Whether the database connection goes through a transaction-pooling PgBouncer, where
    nothing may outlive a transaction (no session lock, no LISTEN)."""
    return settings.AUTHSVC_DB_POOLER == "pgbouncer" and connection.vendor == "postgresql"


def drain_exclusive(
    client: redis.Redis, *, wait_ms: int = 0, batch_size: int | None = None
) -> int | None:
    """Publish until nothing is left, each batch in a transaction holding the relay's lock
    at transaction level; how many, or None if another process held it at the first batch
    (`wait_ms`: how long to wait for it, 0 to give up at once)."""
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if wait_ms:
                # SET LOCAL: ends with the transaction, like the lock.
                cursor.execute(f"SET LOCAL lock_timeout = {int(wait_ms)}")
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RELAY_LOCK_KEY])
            else:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [RELAY_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return total or None
            published = publish_batch(client, batch_size=batch_size)
        if not published:
            return total
        total += published


class Leadership:
    """The advisory lock on this thread's database connection (always granted on SQLite).
    A lost connection loses the lock: after any database error call `lost()`."""

    def __init__(self) -> None:
        self.held = False

    def acquire(self) -> bool:
        if self.held or connection.vendor != "postgresql":
            self.held = True
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [RELAY_LOCK_KEY])
            self.held = bool(cursor.fetchone()[0])
        return self.held

    def release(self) -> None:
        if self.held and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [RELAY_LOCK_KEY])
        self.held = False

    def lost(self) -> None:
        self.held = False
        connection.close()
