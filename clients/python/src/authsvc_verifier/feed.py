"""Liveness from authsvc's event stream: a bounded deny set of revoked sessions and banned
users, fed by the Redis Stream `authsvc:events` (contract: "Events for other services").

A feed knows only what it has read. It starts at the stream's end, so it cannot know a
revocation made before that; and while it cannot read, it cannot know the ones made since.
`covers(issued_at)` says when its silence means "not revoked": the token was issued after
the feed's unbroken reading began, and the feed has read to the stream's end within
`max_gap` seconds. The verifier asks introspection about every other token.

Plain XREAD, not a consumer group: every process that verifies tokens needs every
revocation (a group would share them out, one entry to one consumer), and XREAD keeps no
state in Redis, so a process that dies leaves nothing behind to clean up. A restarted
process starts again at the end, and introspection covers what came before.
"""

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

logger = logging.getLogger(__name__)

SESSION_REVOKED, USER_BANNED = "session.revoked", "user.banned"


@runtime_checkable
class RevocationFeed(Protocol):
    def covers(self, issued_at: float) -> bool:
        """True when every revocation that could concern a token issued at `issued_at`
        (Unix seconds) has been read, so `is_revoked` is the whole truth for it."""

    def is_revoked(self, *, user_id: str, session_id: str | None, issued_at: float) -> bool:
        """True when the session was revoked, or the user banned after the token was issued."""


class DenySet:
    """Revoked sessions and banned users, each forgotten once every token it could concern
    has expired (`ttl`: the access lifetime plus a margin, counted from the event).

    Bounded: past `max_entries` the oldest entries go, and `overflowed_at` records when, so
    the feed stops vouching for tokens issued before that moment instead of letting a
    forgotten revocation through.
    """

    def __init__(self, *, ttl: float, max_entries: int = 100_000, clock=time.time):
        self.ttl, self.max_entries, self._clock = ttl, max_entries, clock
        self._sessions: OrderedDict[str, float] = OrderedDict()  # sid -> forget at
        # user id -> (banned at, forget at)
        self._users: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.overflowed_at = 0.0

    def apply(self, fields: Mapping) -> None:
        """Take one stream entry (its fields, decoded to str); other types are ignored."""
        kind = fields.get("type")
        if kind not in (SESSION_REVOKED, USER_BANNED):
            return
        try:
            occurred = datetime.fromisoformat(fields["occurred_at"].replace("Z", "+00:00"))
            at = occurred.timestamp()
        except (KeyError, AttributeError, ValueError):
            # An entry we cannot date cannot be forgotten safely; keep it a full lifetime.
            at = self._clock()
        forget_at = at + self.ttl
        with self._lock:
            if kind == SESSION_REVOKED and fields.get("session_id"):
                self._sessions[fields["session_id"]] = forget_at
                self._sessions.move_to_end(fields["session_id"])
            elif kind == USER_BANNED and fields.get("user_id"):
                previous = self._users.get(fields["user_id"], (0.0, 0.0))
                self._users[fields["user_id"]] = (max(at, previous[0]), max(forget_at, previous[1]))
                self._users.move_to_end(fields["user_id"])
            self._bound()

    def is_revoked(self, *, user_id: str, session_id: str | None, issued_at: float) -> bool:
        now = self._clock()
        with self._lock:
            forget_at = self._sessions.get(session_id) if session_id else None
            if forget_at is not None and forget_at > now:
                return True
            banned = self._users.get(user_id)
            # A ban ends the tokens issued before it; tokens after an unban are the user's.
            return banned is not None and banned[1] > now and issued_at <= banned[0]

    def __len__(self) -> int:
        return len(self._sessions) + len(self._users)

    def _bound(self) -> None:
        now = self._clock()
        for entries, forget in ((self._sessions, lambda v: v), (self._users, lambda v: v[1])):
            while entries and forget(next(iter(entries.values()))) <= now:
                entries.popitem(last=False)
        while len(self) > self.max_entries:
            biggest = self._sessions if len(self._sessions) >= len(self._users) else self._users
            biggest.popitem(last=False)
            self.overflowed_at = now


class RedisStreamFeed:
    """Reads `stream` with XREAD in a daemon thread, from the entry that was last when it
    started. `redis_client` is a `redis.Redis` (the `redis` extra); `max_gap` is how long
    without reading to the stream's end before the feed stops vouching for any token;
    `clock_skew` how far this host's clock may be from authsvc's (tokens' `iat` is
    authsvc's time). A failed read is retried with backoff up to `max_retry_seconds`, on a
    new connection (redis-py reconnects on the next command)."""

    def __init__(
        self,
        redis_client,
        *,
        stream: str = "authsvc:events",
        access_lifetime: float = 900.0,
        margin: float = 60.0,
        max_gap: float = 10.0,
        block_ms: int = 1000,
        batch: int = 500,
        max_entries: int = 100_000,
        retry_seconds: float = 0.5,
        max_retry_seconds: float = 5.0,
        clock_skew: float = 1.0,
        clock: Callable[[], float] = time.time,
    ):
        self.redis, self.stream = redis_client, stream
        self.max_gap, self.batch, self.clock_skew = max_gap, batch, clock_skew
        self.block_ms = _block_within_socket_timeout(redis_client, block_ms)
        self.retry_seconds, self.max_retry_seconds = retry_seconds, max_retry_seconds
        self._clock = clock
        self.deny = DenySet(ttl=access_lifetime + margin, max_entries=max_entries, clock=clock)
        self.last_id: str | None = None  # None until the start position is known
        self.covered_since = float("inf")
        self.last_read_at = -float("inf")  # when a read last reached the stream's end
        self.failures = 0  # consecutive failed reads
        self._resync = False
        self._added_before = self._read_count = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "RedisStreamFeed":
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="authsvc-feed", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def covers(self, issued_at: float) -> bool:
        now = self._clock()
        since = max(self.covered_since, self.deny.overflowed_at)
        return now - self.last_read_at <= self.max_gap and issued_at >= since

    def is_revoked(self, *, user_id: str, session_id: str | None, issued_at: float) -> bool:
        return self.deny.is_revoked(user_id=user_id, session_id=session_id, issued_at=issued_at)

    def poll(self) -> int:
        """One read (blocking up to block_ms); the number of entries taken. Raises what the
        Redis client raises. The thread calls this in a loop; tests may call it directly."""
        if self.last_id is None:
            info = self._info()
            # One command gives both the position and how many entries the stream had
            # taken by then, which later tells whether entries we never read were trimmed.
            self.last_id = _text(info["last-generated-id"]) if info else "0-0"
            self._added_before = int(info.get("entries-added", 0)) if info else 0
            self._read_count = 0
            # Whatever was published before this moment is unknown to us (the stream may
            # have been trimmed, and reading it all back is not the feed's job): a token
            # issued before it may have been revoked there. Measured after the position was
            # taken, plus the skew, so no token from before the position counts as after it.
            self.covered_since = self._clock() + self.clock_skew
            self.last_read_at = self._clock()
        elif self._resync and self._lost_entries():
            # After a failed read: the stream was trimmed past our position meanwhile, so
            # entries we never read are gone, and tokens issued before now are unknown.
            self.covered_since = self._clock() + self.clock_skew
        self._resync = False
        sent_at = self._clock()
        answer = self.redis.xread(
            {self.stream: self.last_id}, count=self.batch, block=self.block_ms
        )
        taken = 0
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                self.deny.apply({_text(k): _text(v) for k, v in fields.items()})
                self.last_id = _text(entry_id)
                taken += 1
        self._read_count += taken
        if taken < self.batch:
            # Short of a full batch: everything published before the read was sent is read.
            # A full batch may have more behind it (a backlog after a gap), so it does not
            # count as current until a later read comes back short.
            self.last_read_at = sent_at
        return taken

    def _info(self) -> dict | None:
        try:
            return self.redis.xinfo_stream(self.stream)
        except Exception as exc:
            if type(exc).__name__ == "ResponseError":  # no such stream (nothing published yet)
                return None
            raise

    def _lost_entries(self) -> bool:
        info = self._info()
        if info is None:
            return self._read_count > 0  # the whole stream was deleted
        deleted = info.get("max-deleted-entry-id", "0-0")  # XDEL (Redis 7)
        if _id(_text(deleted)) > _id(self.last_id):
            return True
        oldest = info.get("first-entry")
        if not oldest or _id(_text(oldest[0])) <= _id(self.last_id):
            return False  # XTRIM removes from the head: nothing after our position went
        if "entries-added" not in info:
            return True  # Redis 6 cannot tell; assume the worst
        # Every entry now present is after our position: were all added since, present?
        unread_added = int(info["entries-added"]) - self._added_before - self._read_count
        return unread_added > int(info["length"])

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as exc:
                self._resync = True
                self.failures += 1
                # Once per outage at warning level: a dead Redis would log every retry.
                log = logger.warning if self.failures == 1 else logger.debug
                log("authsvc event feed: read failed (%s); retrying", exc)
                delay = min(self.retry_seconds * 2 ** (self.failures - 1), self.max_retry_seconds)
                self._stop.wait(delay)
            else:
                if self.failures:
                    logger.warning("authsvc event feed: reading again after %s failures",
                                   self.failures)
                self.failures = 0


def _block_within_socket_timeout(redis_client, block_ms: int) -> int:
    """A blocking read longer than the client's socket timeout fails every time; without a
    socket timeout, a read through a network partition waits until TCP gives up, and the
    feed with it (tokens go to introspection meanwhile, but it recovers late)."""
    pool = getattr(redis_client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {})
    timeout = kwargs.get("socket_timeout", kwargs.get("orig_socket_timeout"))
    if timeout is None:
        if pool is not None and "socket_timeout" in kwargs:
            logger.warning("authsvc event feed: the Redis client has no socket_timeout; "
                           "a network partition will stall the feed until TCP gives up")
        return block_ms
    return min(block_ms, max(int(float(timeout) * 1000 / 2), 1))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def event_fields(
    *, type: str, user_id: str, session_id: str = "", occurred_at: str, data: dict | None = None,
    id: str,
) -> dict[str, str]:
    """An entry in the contract's shape, for tests and for publishers written in Python."""
    return {
        "id": id, "type": type, "occurred_at": occurred_at, "user_id": user_id,
        "session_id": session_id, "data": json.dumps(data or {}),
    }
