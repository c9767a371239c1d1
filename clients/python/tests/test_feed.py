"""The revocation feed: the deny set's rules and bounds, and the Redis Stream reader against
entries written here in the contract's shape (tests/clients/ reads authsvc's own)."""

import time
import uuid
from datetime import UTC, datetime

import pytest
import redis
from conftest import REDIS_URL

from authsvc_verifier.feed import DenySet, RedisStreamFeed, RevocationFeed, event_fields


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def entry(kind, *, user_id="u1", session_id="", at=None):
    return event_fields(
        id=str(uuid.uuid4()), type=kind, user_id=user_id, session_id=session_id,
        occurred_at=rfc3339(time.time() if at is None else at), data={"reason": "test"},
    )


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


def test_a_revoked_session_is_denied_and_others_are_not():
    deny = DenySet(ttl=960)
    deny.apply(entry("session.revoked", user_id="u1", session_id="s1"))
    assert deny.is_revoked(user_id="u1", session_id="s1", issued_at=time.time())
    assert not deny.is_revoked(user_id="u1", session_id="s2", issued_at=time.time())


def test_a_ban_denies_tokens_issued_before_it_only():
    deny = DenySet(ttl=960)
    banned_at = time.time()
    deny.apply(entry("user.banned", user_id="u1", at=banned_at))
    assert deny.is_revoked(user_id="u1", session_id="s1", issued_at=banned_at - 60)
    assert not deny.is_revoked(user_id="u1", session_id="s1", issued_at=banned_at + 1)
    assert not deny.is_revoked(user_id="u2", session_id="s1", issued_at=banned_at - 60)


def test_other_event_types_are_ignored():
    deny = DenySet(ttl=960)
    for kind in ("user.registered", "session.created", "user.unbanned", "password.changed"):
        deny.apply(entry(kind, session_id="s1"))
    assert len(deny) == 0


def test_entries_are_forgotten_after_the_access_lifetime_and_margin():
    clock = Clock()
    deny = DenySet(ttl=960, clock=clock)
    deny.apply(entry("session.revoked", session_id="s1", at=clock.now))
    clock.now += 959
    assert deny.is_revoked(user_id="u", session_id="s1", issued_at=clock.now - 900)
    clock.now += 2
    assert not deny.is_revoked(user_id="u", session_id="s1", issued_at=clock.now - 900)
    deny.apply(entry("session.revoked", session_id="s2", at=clock.now))
    assert len(deny) == 1  # s1 was dropped when s2 came


def test_the_deny_set_is_bounded_and_says_when_it_forgot():
    clock = Clock()
    deny = DenySet(ttl=960, max_entries=100, clock=clock)
    for i in range(150):
        deny.apply(entry("session.revoked", session_id=f"s{i}", at=clock.now))
    assert len(deny) == 100
    assert deny.overflowed_at == clock.now
    assert deny.is_revoked(user_id="u", session_id="s149", issued_at=clock.now)


def test_an_undatable_entry_is_kept_a_full_lifetime():
    clock = Clock()
    deny = DenySet(ttl=960, clock=clock)
    deny.apply({"type": "session.revoked", "session_id": "s1", "occurred_at": "yesterday"})
    clock.now += 900
    assert deny.is_revoked(user_id="u", session_id="s1", issued_at=0)


@pytest.fixture
def stream():
    client = redis.Redis.from_url(REDIS_URL)
    name = f"authsvc:events:test:{uuid.uuid4().hex}"
    yield client, name
    client.delete(name)
    client.close()


def test_the_reader_follows_the_stream_from_where_it_started(stream):
    client, name = stream
    earlier = time.time() - 30
    client.xadd(name, entry("session.revoked", session_id="before", at=earlier))
    feed = RedisStreamFeed(client, stream=name, block_ms=50)
    assert isinstance(feed, RevocationFeed)
    assert feed.poll() == 0  # positions at the end: what came before is unknown
    assert not feed.is_revoked(user_id="u1", session_id="before", issued_at=earlier)
    # ...and so the feed does not vouch for tokens issued before it started, nor (the clock
    # skew it allows authsvc) in the second after.
    assert not feed.covers(earlier)
    assert not feed.covers(time.time())
    assert feed.covers(time.time() + 1.01)
    client.xadd(name, entry("session.revoked", session_id="s1"))
    client.xadd(name, entry("user.banned", user_id="u9"))
    client.xadd(name, entry("session.created", session_id="s2"))
    assert feed.poll() == 3
    assert feed.is_revoked(user_id="u1", session_id="s1", issued_at=time.time())
    assert feed.is_revoked(user_id="u9", session_id="s7", issued_at=time.time() - 5)
    assert not feed.is_revoked(user_id="u1", session_id="s2", issued_at=time.time())


def test_the_reader_thread_and_a_gap(stream):
    client, name = stream
    clock = Clock()
    feed = RedisStreamFeed(client, stream=name, block_ms=50, max_gap=10, clock=clock).start()
    try:
        deadline = time.monotonic() + 5
        while feed.last_id is None and time.monotonic() < deadline:
            time.sleep(0.01)
        client.xadd(name, entry("session.revoked", session_id="s1"))
        while not feed.is_revoked(user_id="u", session_id="s1", issued_at=clock.now):
            assert time.monotonic() < deadline, "the reader never read the entry"
            time.sleep(0.01)
        assert feed.covers(clock.now + 1)
    finally:
        feed.stop()
    clock.now += 11  # no successful read for longer than max_gap
    assert not feed.covers(clock.now)


def test_a_dead_redis_is_a_gap_and_never_an_error_to_callers():
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    feed = RedisStreamFeed(client, block_ms=50, retry_seconds=0.05).start()
    try:
        time.sleep(0.3)
        assert not feed.covers(time.time())
        assert feed.last_id is None
    finally:
        feed.stop()


def test_entries_trimmed_while_the_reader_was_away_reset_what_it_covers(stream):
    client, name = stream
    clock = Clock()
    client.xadd(name, entry("session.created", session_id="x"))
    feed = RedisStreamFeed(client, stream=name, block_ms=50, clock=clock)
    feed.poll()
    client.xadd(name, entry("session.created", session_id="read"))
    assert feed.poll() == 1
    started = feed.covered_since
    # Trimmed while away, but only what was read: nothing lost.
    client.xadd(name, entry("session.revoked", session_id="kept"))
    client.xtrim(name, maxlen=1, approximate=False)
    clock.now += 5
    feed._resync = True  # as after a failed read
    assert feed.poll() == 1
    assert feed.covered_since == started
    # Trimmed past what was read: the revocation is gone unread.
    client.xadd(name, entry("session.revoked", session_id="lost"))
    client.xadd(name, entry("session.created", session_id="y"))
    client.xtrim(name, maxlen=1, approximate=False)
    clock.now += 5
    feed._resync = True
    feed.poll()
    assert feed.covered_since == clock.now + 1.0 > started
    assert not feed.covers(clock.now)


def test_an_entry_deleted_unread_resets_what_it_covers(stream):
    client, name = stream
    clock = Clock()
    feed = RedisStreamFeed(client, stream=name, block_ms=50, clock=clock)
    feed.poll()  # no stream yet: positioned at 0-0
    client.xadd(name, entry("session.created", session_id="a"))
    gone = client.xadd(name, entry("session.revoked", session_id="gone"))
    client.xdel(name, gone)
    clock.now += 5
    feed._resync = True
    assert feed.poll() == 1
    assert feed.covered_since == clock.now + 1.0


def test_a_full_batch_is_a_backlog_and_not_yet_current(stream):
    client, name = stream
    clock = Clock()
    feed = RedisStreamFeed(client, stream=name, block_ms=50, batch=3, max_gap=10, clock=clock)
    feed.poll()
    clock.now += 11  # away for longer than max_gap: a backlog built up meanwhile
    for i in range(4):
        client.xadd(name, entry("session.revoked", session_id=f"s{i}"))
    assert feed.poll() == 3
    assert not feed.covers(clock.now)  # one more entry waits: s3 is not known yet
    assert feed.poll() == 1
    assert feed.covers(clock.now)
    assert feed.is_revoked(user_id="u", session_id="s3", issued_at=clock.now)


def test_a_ban_and_its_sessions_revoked_deny_the_user_either_way(stream):
    client, name = stream
    feed = RedisStreamFeed(client, stream=name, block_ms=50)
    feed.poll()
    issued = time.time() - 1
    client.xadd(name, entry("session.revoked", user_id="u1", session_id="s1"))
    client.xadd(name, entry("user.banned", user_id="u1"))
    client.xadd(name, entry("session.revoked", user_id="u1", session_id="s1"))  # redelivered
    assert feed.poll() == 3
    assert feed.is_revoked(user_id="u1", session_id="s1", issued_at=issued)
    assert feed.is_revoked(user_id="u1", session_id="s2", issued_at=issued)  # the ban alone


def test_a_block_longer_than_the_socket_timeout_is_shortened():
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=0.5)
    assert RedisStreamFeed(client, block_ms=2000).block_ms == 250
    assert RedisStreamFeed(redis.Redis.from_url(REDIS_URL), block_ms=1000).block_ms == 1000
