"""What one refresh costs: three SQL statements in one transaction, the same on PostgreSQL and
SQLite (`test_refresh_on_sqlite.py` runs this module there too), and one store round trip.

Query counts, not timings: benchmarks live in `make bench`, never in the test suite.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_redis import get_redis_connection
from redis import Redis

from sessions_store.backends import get_session_store
from sessions_store.backends.redis import SESSION_KEY
from sessions_store.models import Session
from tokens.models import RefreshToken
from tokens.refresh import (
    _MARK_USED_SQL,
    _SESSION_EXTEND_SQL,
    _SUCCESSOR_INSERT_SQL,
    _SUCCESSOR_REDELIVER_SQL,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_calls(monkeypatch):
    """The commands sent to Redis (a script call is one EVALSHA)."""
    calls: list[str] = []
    original = Redis.execute_command

    def counting(self, *args, **options):
        calls.append(str(args[0]))
        return original(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", counting)
    return calls


def head(sql: str) -> str:
    """A statement's first four words (its verb, table and first column): the driver's
    log has the parameters filled in."""
    return " ".join(sql.split()[:4])


def statements(queries) -> list[str]:
    """The statements run, transaction control left out (the rotation's transaction is a
    savepoint here only because the test runs inside one)."""
    return [
        head(q["sql"])
        for q in queries.captured_queries
        if "SAVEPOINT" not in q["sql"].split(" ")[:2]
    ]


def heads(*sqls: str) -> list[str]:
    return [head(sql) for sql in sqls]


def test_refresh_is_three_statements_and_one_store_round_trip(logged_in, redis_calls):
    with CaptureQueriesContext(connection) as queries:
        response = logged_in.post_json("/auth/refresh/")

    assert response.status_code == 200
    # Mark the token used, insert its successor, extend the session: one transaction, the
    # statements SQLite runs too. (PostgreSQL alone could do it in one statement with
    # data-modifying WITH, one round trip instead of three; the cost measured was about
    # 0.1 ms a refresh, for `make run` testing what production runs.)
    assert statements(queries) == heads(_MARK_USED_SQL, _SUCCESSOR_INSERT_SQL, _SESSION_EXTEND_SQL)
    # The session store: one script. Before it, the two rate-limit counters (per IP,
    # per session), one script each, which starts a window or counts in it.
    assert redis_calls == ["EVALSHA", "EVALSHA", "EVALSHA"]


def test_a_refresh_inside_its_limits_windows_is_three_redis_commands_too(logged_in, redis_calls):
    # The counters' windows are open now: django-ratelimit's add-then-incr was two round
    # trips a counter here, five commands a refresh; the counting script keeps it at one.
    assert logged_in.post_json("/auth/refresh/").status_code == 200
    redis_calls.clear()

    assert logged_in.post_json("/auth/refresh/").status_code == 200

    assert redis_calls == ["EVALSHA", "EVALSHA", "EVALSHA"]


def test_a_lost_answer_retried_is_three_statements_too(api, user, clock):
    api.login(user.email)
    token = api.cookie("refresh_token")
    assert api.post_json("/auth/refresh/").status_code == 200
    clock.advance(minutes=10)
    api.cookies["refresh_token"] = token

    with CaptureQueriesContext(connection) as queries:
        response = api.post_json("/auth/refresh/")

    assert response.status_code == 200
    assert statements(queries) == heads(
        _MARK_USED_SQL, _SUCCESSOR_REDELIVER_SQL, _SESSION_EXTEND_SQL
    )


def test_refresh_with_rate_limits_off_is_one_store_round_trip(logged_in, redis_calls, settings):
    settings.RATELIMIT_ENABLE = False

    assert logged_in.post_json("/auth/refresh/").status_code == 200

    assert redis_calls == ["EVALSHA"]


def test_a_refresh_refused_by_the_session_limit_leaves_the_token_usable(logged_in, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "refresh_session": "2/m"}
    for _ in range(2):
        assert logged_in.post_json("/auth/refresh/").status_code == 200
    token = logged_in.cookie("refresh_token")

    response = logged_in.post_json("/auth/refresh/")

    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert response["Retry-After"]
    assert logged_in.cookie("refresh_token") == token
    assert RefreshToken.objects.filter(used_at__isnull=True).count() == 1
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "refresh_session": "10/m"}
    assert logged_in.post_json("/auth/refresh/").status_code == 200


def test_refresh_is_limited_per_ip(client_factory, make_user, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "refresh_ip": "2/m"}
    browsers = [client_factory() for _ in range(3)]
    for browser in browsers:
        assert browser.login(make_user().email).status_code == 200

    assert browsers[0].post_json("/auth/refresh/").status_code == 200
    assert browsers[1].post_json("/auth/refresh/").status_code == 200
    assert browsers[2].post_json("/auth/refresh/").status_code == 429


def test_refresh_renews_the_cached_snapshot(logged_in):
    session = Session.objects.get()
    client = get_redis_connection("default")
    client.expire(SESSION_KEY.format(session.pk), 10)

    assert logged_in.post_json("/auth/refresh/").status_code == 200

    assert client.ttl(SESSION_KEY.format(session.pk)) > 10
    assert str(session.pk) in get_session_store().user_sessions(str(session.user_id))


def test_refresh_rebuilds_a_snapshot_the_store_lost(logged_in, user):
    session = Session.objects.get()
    get_redis_connection("default").delete(SESSION_KEY.format(session.pk))

    assert logged_in.post_json("/auth/refresh/").status_code == 200

    snapshot = get_session_store().get(str(session.pk))
    assert snapshot.user_id == str(user.pk) and snapshot.email == user.email
    assert logged_in.get("/auth/self/").status_code == 200


def test_refresh_of_a_revoked_session_writes_nothing(logged_in):
    token = logged_in.cookie("refresh_token")
    Session.objects.update(revoked_at=Session.objects.get().created_at)

    logged_in.cookies["refresh_token"] = token
    assert logged_in.post_json("/auth/refresh/").status_code == 401

    assert RefreshToken.objects.count() == 1
    assert RefreshToken.objects.get().used_at is None
