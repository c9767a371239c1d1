"""The two store backends honour one contract."""

import pytest

from sessions_store.backends.base import REVOKED, Snapshot
from sessions_store.backends.memory import MemorySessionStore
from sessions_store.backends.redis import RedisSessionStore


def snapshot(sid="s1", user_id="u1", name="Alice") -> Snapshot:
    return Snapshot(
        sid=sid,
        user_id=user_id,
        email="a@example.com",
        name=name,
        roles=["user"],
        email_verified=True,
        mfa_enabled=False,
        date_joined="2026-01-01T00:00:00+00:00",
        amr=["pwd"],
    )


@pytest.fixture(params=["redis", "memory"])
def store(request):
    return RedisSessionStore() if request.param == "redis" else MemorySessionStore()


def test_unknown_session_is_none(store):
    assert store.get("nope") is None


def test_put_then_get(store):
    assert store.put(snapshot(), 60) is True

    assert store.get("s1") == snapshot()
    assert store.user_sessions("u1") == {"s1"}


def test_tombstone_wins_over_a_late_put(store):
    store.put(snapshot(), 60)
    store.revoke(["s1"], "u1", 60)

    # A request that read the session before it was revoked tries to cache it again.
    assert store.put(snapshot(name="stale"), 60) is False
    assert store.get("s1") is REVOKED
    assert store.user_sessions("u1") == set()


def test_put_replaces_a_live_snapshot(store):
    store.put(snapshot(), 60)

    assert store.put(snapshot(name="Renamed"), 60) is True
    assert store.get("s1").name == "Renamed"


def test_revoke_many(store):
    for sid in ("a", "b", "c"):
        store.put(snapshot(sid=sid), 60)

    store.revoke(["a", "b"], "u1", 60)

    assert store.get("a") is REVOKED and store.get("b") is REVOKED
    assert store.get("c").sid == "c"
    assert store.user_sessions("u1") == {"c"}


def test_entries_expire(store, monkeypatch):
    if isinstance(store, RedisSessionStore):
        store.put(snapshot(), 1)
        assert 0 < store.client.ttl("authsvc:s:s1") <= 1
        return
    import time

    start = time.monotonic()
    store.put(snapshot(), 5)
    monkeypatch.setattr(time, "monotonic", lambda: start + 6)
    assert store.get("s1") is None


def test_the_index_of_an_earlier_release_is_still_read():
    """Releases before the hash index kept a set at `authsvc:u:<user id>`: a user's
    sessions listed only there are still found when all of them are revoked."""
    from sessions_store.backends.redis import LEGACY_USER_KEY, USER_KEY

    store = RedisSessionStore()
    store.client.delete(LEGACY_USER_KEY.format("u1"), USER_KEY.format("u1"))
    store.client.sadd(LEGACY_USER_KEY.format("u1"), "old")
    assert store.put(snapshot(sid="new"), 60) is True

    assert store.user_sessions("u1") == {"old", "new"}
    assert store.client.type(USER_KEY.format("u1")) == b"hash"
    store.client.delete(LEGACY_USER_KEY.format("u1"))
