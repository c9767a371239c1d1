"""Revocations the store did not get: written to PostgreSQL, read by every process.

When the revoking process cannot write a tombstone (Redis down, slow or partitioned from
it), the stale snapshot may still sit in Redis, and every process that can read it would
serve the revoked session until the snapshot expires. So:

1. the revoking process puts the session ids in its own deny set at once and writes a
   `PendingTombstone` row (committed at once, on a connection of its own when the caller is
   inside a transaction: like the tombstone itself, it may land before the revocation
   commits, which can only end a session early);
2. every process, at most every AUTHSVC_REVOCATION_SYNC_SECONDS, on the request path, reads
   the rows not yet flushed (a tiny query on a partial index, usually empty) into its deny
   set, which `session_snapshot` consults before trusting a cached snapshot, and never puts
   a snapshot of a denied session;
3. a process that reaches Redis writes the tombstones and only then marks the rows flushed.
   At every moment a revocation is either a tombstone in Redis or an unflushed row, so a
   process that trusts Redis misses it for at most one sync interval. A process whose Redis
   comes back syncs before its next request trusts Redis (`on_recovery`).

Deny entries live one tombstone lifetime, longer than any snapshot cached before the
revocation; `purge_expired` deletes rows older than twice that.
"""

import logging
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError

from authsvc import clock
from authsvc.batching import delete_in_batches
from authsvc.detached import autocommit_cursor
from authsvc.redis_guard import on_recovery
from sessions_store.backends import get_session_store
from sessions_store.backends.base import SessionStoreUnavailable
from sessions_store.models import PendingTombstone
from tokens.conf import token_settings

logger = logging.getLogger(__name__)

_TABLE = PendingTombstone._meta.db_table
# At most this many rows per sync; the rest come on the next one.
_BATCH = 5000


def tombstone_ttl_seconds() -> int:
    # Long enough to outlive every access token the session was issued.
    return int(token_settings.access_ttl.total_seconds()) + 5


class _DenySet:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._entries: dict[str, float] = {}  # sid -> monotonic expiry
        self.last_sync = float("-inf")  # a new process syncs before its first request

    def add(self, sids) -> None:
        expires = time.monotonic() + tombstone_ttl_seconds()
        with self._lock:
            for sid in sids:
                self._entries[str(sid)] = expires

    def __contains__(self, sid: str) -> bool:
        with self._lock:
            expires = self._entries.get(sid)
            if expires is None:
                return False
            if expires <= time.monotonic():
                del self._entries[sid]
                return False
            return True

    def prune(self) -> None:
        now = time.monotonic()
        with self._lock:
            for sid in [sid for sid, expires in self._entries.items() if expires <= now]:
                del self._entries[sid]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        self.last_sync = time.monotonic()


_denied = _DenySet()


def session_denied(sid: str) -> bool:
    """Whether `sid` was revoked while its tombstone could not be written."""
    return sid in _denied


def pending_tombstones_record(sids: list[str], user_id: str) -> None:
    """The store could not take these tombstones: deny them here and tell every process."""
    if not sids:
        return
    _denied.add(sids)
    fields = {f.name: f for f in PendingTombstone._meta.concrete_fields}
    now = clock.now()
    try:
        with autocommit_cursor() as cursor:
            connection = cursor.db
            values = [
                [
                    fields["session_id"].get_db_prep_value(uuid.UUID(str(sid)), connection),
                    fields["user_id"].get_db_prep_value(uuid.UUID(str(user_id)), connection),
                    fields["created_at"].get_db_prep_value(now, connection),
                    False,
                ]
                for sid in sids
            ]
            cursor.executemany(
                f"INSERT INTO {_TABLE} (session_id, user_id, created_at, flushed) "  # noqa: S608
                "VALUES (%s, %s, %s, %s)",
                values,
            )
    except DatabaseError:
        # The revocation itself is in the database; only other processes' fast path may
        # serve the session until its cached snapshot expires.
        logger.exception("pending tombstones of %s could not be recorded", sids)


def revocations_sync(*, force: bool = False) -> None:
    """Read the unflushed revocations into the deny set, and flush them to the store when
    it answers; at most every AUTHSVC_REVOCATION_SYNC_SECONDS unless `force`."""
    if (
        not force
        and time.monotonic() - _denied.last_sync < settings.AUTHSVC_REVOCATION_SYNC_SECONDS
    ):
        return
    # One thread syncs; the others go on with the deny set as it is (at most one interval old).
    if not _denied._sync_lock.acquire(blocking=False):
        return
    try:
        _denied.last_sync = time.monotonic()
        rows = list(
            PendingTombstone.objects.filter(flushed=False)
            .order_by("id")
            .values_list("id", "session_id", "user_id")[:_BATCH]
        )
        if not rows:
            _denied.prune()
            return
        _denied.add(str(sid) for _, sid, _ in rows)
        _flush(rows)
    except DatabaseError as exc:
        # PostgreSQL is down: every read that needs it answers 503 meanwhile, and this is
        # tried again at the next interval; one line, not a traceback a second per process.
        logger.warning("pending tombstones could not be read: %s", exc)
    finally:
        _denied._sync_lock.release()


def _flush(rows) -> None:
    by_user = defaultdict(list)
    for row_id, sid, user_id in rows:
        by_user[str(user_id)].append((row_id, str(sid)))
    store = get_session_store()
    flushed = []
    for user_id, entries in by_user.items():
        try:
            # The tombstone first, the mark after: a revocation is always one or the other.
            store.revoke([sid for _, sid in entries], user_id, tombstone_ttl_seconds())
        except SessionStoreUnavailable:
            return
        flushed.extend(row_id for row_id, _ in entries)
        PendingTombstone.objects.filter(id__in=[row_id for row_id, _ in entries]).update(
            flushed=True
        )
    if flushed:
        logger.info("flushed %d pending tombstone(s) to the session store", len(flushed))


def _sync_on_recovery() -> None:
    # Redis answers again: learn what was revoked meanwhile before trusting it further.
    _denied.last_sync = float("-inf")


on_recovery(_sync_on_recovery)


def pending_tombstones_purge(*, now: datetime, batch_size: int) -> int:
    """Delete rows older than twice a tombstone's life: no snapshot cached before them is left."""
    cutoff = now - timedelta(seconds=2 * tombstone_ttl_seconds())
    return delete_in_batches(
        PendingTombstone.objects.filter(created_at__lt=cutoff), batch_size=batch_size
    )


def deny_set_clear() -> None:
    """Forget this process's deny set, as if just synced (tests: a process that never saw
    the revocation; the next sync is one AUTHSVC_REVOCATION_SYNC_SECONDS away)."""
    _denied.clear()
