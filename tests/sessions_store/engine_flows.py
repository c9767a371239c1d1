"""The core flows run against a Redis of another form (tests/engines.py: Cluster,
Sentinel): the app's cache, session store, rate limits and event stream all pointed at it
through `REDIS_URL`, exactly as production settings build them."""

import jwt
from django.conf import settings
from django_redis import get_redis_connection

from audit.relay import drain, stream_client
from authsvc.redis_guard import breaker_reset
from authsvc.redis_url import RedisConnectionFactory, redis_caches, redis_client
from sessions_store.backends import _store
from sessions_store.backends.base import TOMBSTONE
from sessions_store.backends.redis import SESSION_KEY, USER_KEY
from sessions_store.models import Session
from tests.audit.outbox_helpers import reuse_refresh_token
from tests.tokens.conftest import assert_error

INVALID_TOKEN = {"error": "invalid_token", "detail": "The token is invalid, expired or revoked."}


def point_at(settings_fixture, url: str) -> None:
    """The process's Redis is now `url` (the cache handlers reset on the settings signal)."""
    settings_fixture.REDIS_URL = url
    settings_fixture.CACHES = redis_caches(url, timeout_ms=settings.AUTHSVC_REDIS_TIMEOUT_MS)
    _store.cache_clear()
    breaker_reset()


def forget() -> None:
    _store.cache_clear()
    RedisConnectionFactory.forget()
    breaker_reset()


def engine(url: str):
    """A client of the engine past the app (what another instance sees)."""
    return redis_client(url, socket_timeout=2)


def sid_of(client) -> str:
    return jwt.decode(client.cookie("access_token"), options={"verify_signature": False})["sid"]


def stream_ids(url: str) -> list[str]:
    return [
        fields[b"id"].decode() for _, fields in engine(url).xrange(settings.AUTHSVC_EVENTS_STREAM)
    ]


def register_login_refresh_logout(client_factory, make_user, url: str) -> None:
    """Register, login, refresh, logout seen at once, logout everywhere: every snapshot and
    tombstone lands in the engine, and the app reads them back from it."""
    direct = engine(url)
    browser = client_factory()
    ready = browser.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json()["checks"]["session_store"] == "ok"
    assert browser.register("new@example.com").status_code == 201
    assert browser.get("/auth/self/").json()["email"] == "new@example.com"
    assert direct.get(SESSION_KEY.format(sid_of(browser))) is not None

    user = make_user()
    browser = client_factory()
    assert browser.login(user.email).status_code == 200
    sid = sid_of(browser)
    assert direct.get(SESSION_KEY.format(sid)) is not None
    assert direct.hkeys(USER_KEY.format(user.pk)) == [sid.encode()]
    old_refresh = browser.cookie("refresh_token")
    assert browser.post_json("/auth/refresh/").status_code == 200
    assert browser.cookie("refresh_token") != old_refresh
    assert direct.ttl(SESSION_KEY.format(sid)) > 0
    assert browser.get("/auth/self/").json()["email"] == user.email

    access = browser.cookie("access_token")
    assert browser.post_json("/auth/logout/").status_code == 200
    assert direct.get(SESSION_KEY.format(sid)) == TOMBSTONE.encode()
    browser.cookies["access_token"] = access
    assert browser.get("/auth/self/").json() == INVALID_TOKEN

    # Two sessions of one user, on whatever nodes their keys hash to, end together.
    first, second = client_factory(), client_factory()
    first.login(user.email)
    second.login(user.email)
    sids = {sid_of(first), sid_of(second)}
    assert first.post_json("/auth/logout-all/").status_code == 200
    for sid in sids:
        assert direct.get(SESSION_KEY.format(sid)) == TOMBSTONE.encode()
    assert second.get("/auth/self/").json() == INVALID_TOKEN
    assert direct.hkeys(USER_KEY.format(user.pk)) == []


def refresh_reuse_detection(client_factory, make_user, clock, url: str) -> None:
    user = make_user()
    victim, thief = client_factory(), client_factory()
    victim.login(user.email)
    sid = sid_of(victim)
    reuse_refresh_token(victim, thief, clock)

    assert Session.objects.get(pk=sid).revoked_reason == "refresh_token_reused"
    assert engine(url).get(SESSION_KEY.format(sid)) == TOMBSTONE.encode()
    assert victim.get("/auth/self/").json() == INVALID_TOKEN


def rate_limits_and_lockout(client_factory, make_user, settings_fixture, clock) -> None:
    user = make_user()
    settings_fixture.AUTHSVC_RATE_LIMITS = {
        **settings.AUTHSVC_RATE_LIMITS,
        "login_failed_ip": "3/m",
    }
    api = client_factory()
    for _ in range(3):
        assert_error(api.login(user.email, "wrong password"), 401, "invalid_credentials")
    assert_error(api.login(user.email), 429, "rate_limited")
    # The counters are in the engine, not in this process's fallback memory.
    counters = get_redis_connection("default")
    assert any(b"rl:" in key for key in _keys(counters))

    settings_fixture.AUTHSVC_RATE_LIMITS = {
        **settings.AUTHSVC_RATE_LIMITS,
        "login_failed_ip": "10000/h",
    }
    other = make_user()
    for _ in range(settings.AUTHSVC_LOGIN_FREE_FAILURES + 1):
        assert_error(client_factory().login(other.email, "wrong"), 401, "invalid_credentials")
    assert_error(client_factory().login(other.email), 429, "rate_limited")
    clock.advance(seconds=2)
    assert client_factory().login(other.email).status_code == 200


def _keys(client) -> list[bytes]:
    return list(client.scan_iter(match="*", count=1000))


def events_reach_the_stream(client_factory, make_user, url: str) -> None:
    user = make_user()
    browser = client_factory()
    browser.login(user.email)
    sid = sid_of(browser)
    browser.post_json("/auth/logout/")
    before = len(stream_ids(url))

    assert drain(stream_client()) >= 2

    published = [
        {k.decode(): v.decode() for k, v in fields.items()}
        for _, fields in engine(url).xrange(settings.AUTHSVC_EVENTS_STREAM)
    ][before:]
    mine = [(e["type"], e["session_id"]) for e in published if e["user_id"] == str(user.pk)]
    assert mine == [("session.created", sid), ("session.revoked", sid)]
