"""PostgreSQL through PgBouncer in transaction-pooling mode (`AUTHSVC_DB_POOLER=pgbouncer`):
a real gunicorn and two relays on a pool of three server connections, the core flows from
eight threads at once, every event published once and in order, and no session state (an
advisory lock, a changed setting) left on a server connection."""

import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import psycopg
import pytest
import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from audit.models import OutboxEvent
from audit.outbox import outbox_append
from audit.relay import RELAY_LOCK_KEY, drain_exclusive
from authsvc.settings.env import database_from_url
from sessions_store.models import Session
from tests.audit.outbox_helpers import stream_entries
from tests.audit.relay_helpers import wait_for
from tests.conftest import DEFAULT_PASSWORD
from tests.engines import PgBouncer
from tests.faults import RedisServer
from tests.live import ROOT, Browser, LiveServer

POOL_SIZE = 3
THREADS = 8
INVALID = (401, "invalid_token")


def test_the_pooler_setting_sends_nothing_that_lives_in_a_session():
    entry = database_from_url(
        "postgres://u@pgbouncer:6432/authsvc", base_dir=ROOT, pooler="pgbouncer"
    )
    assert "options" not in entry["OPTIONS"]  # PgBouncer refuses the startup parameter
    assert entry["OPTIONS"]["prepare_threshold"] is None
    assert entry["DISABLE_SERVER_SIDE_CURSORS"] is True
    # Client-side bounds stay: they are libpq's, not the server's.
    assert entry["OPTIONS"]["connect_timeout"] == "4"
    assert entry["OPTIONS"]["tcp_user_timeout"] == "5000"
    direct = database_from_url("postgres://u@db/authsvc", base_dir=ROOT)
    assert "statement_timeout" in direct["OPTIONS"]["options"]
    assert "DISABLE_SERVER_SIDE_CURSORS" not in direct


def _server_connection(db: dict):
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        autocommit=True,
    )


def _flows(base: str, n: int) -> dict:
    """One user's core flows; what the main thread checks afterwards."""
    email = f"pooled-{n}-{uuid.uuid4().hex[:8]}@example.com"
    browser = Browser()
    body = {"email": email, "password": DEFAULT_PASSWORD, "name": "Pooled"}
    status, answer = browser.call(base, "POST", "/auth/register/", body)
    assert status == 201, answer
    assert browser.call(base, "GET", "/auth/self/")[1]["email"] == email

    # Refresh rotates; presenting a replaced token again once the chain went on past it is
    # a reuse: the session dies.
    stolen = browser.cookies["refresh_token"]
    for _ in range(2):
        assert browser.call(base, "POST", "/auth/refresh/", {})[0] == 200
    assert browser.cookies["refresh_token"] != stolen
    reused_access = browser.cookies["access_token"]
    thief = Browser()
    thief.cookies["refresh_token"] = stolen
    status, answer = thief.call(base, "POST", "/auth/refresh/", {})
    assert (status, answer["error"]) == INVALID
    status, answer = Browser().call(base, "GET", "/auth/self/", bearer=reused_access)
    assert (status, answer["error"]) == INVALID

    # Login, then logout: the access token is refused at once.
    login = {"email": email, "password": DEFAULT_PASSWORD}
    browser = Browser()
    assert browser.call(base, "POST", "/auth/login/", login)[0] == 200
    access = browser.cookies["access_token"]
    assert Browser().call(base, "GET", "/auth/self/", bearer=access)[0] == 200
    assert browser.call(base, "POST", "/auth/logout/", {})[0] == 200
    status, answer = Browser().call(base, "GET", "/auth/self/", bearer=access)
    assert (status, answer["error"]) == INVALID

    # The lockout: after the free failures even the right password waits.
    wrong = {"email": email, "password": "wrong password"}
    for _ in range(settings.AUTHSVC_LOGIN_FREE_FAILURES + 1):
        status, answer = Browser().call(base, "POST", "/auth/login/", wrong)
        assert (status, answer["error"]) == (401, "invalid_credentials")
    status, answer = Browser().call(base, "POST", "/auth/login/", login)
    assert (status, answer["error"]) == (429, "rate_limited")
    return {
        "email": email,
        "reused_sid": jwt.decode(reused_access, options={"verify_signature": False})["sid"],
    }


@pytest.mark.django_db(transaction=True)
def test_core_flows_and_the_relay_through_pgbouncer_in_transaction_mode():
    db = settings.DATABASES["default"]
    with (
        PgBouncer(
            host=db["HOST"], port=db["PORT"], database=db["NAME"], user=db["USER"],
            pool_size=POOL_SIZE,
        ) as bouncer,
        RedisServer() as redis_server,
        LiveServer(
            database_url=bouncer.url(),
            redis_url=redis_server.url,
            keys_dir=settings.AUTHSVC_KEYS_DIR,
            gunicorn_args=("--workers", "2", "--threads", "4"),
            AUTHSVC_DB_POOLER="pgbouncer",
            AUTHSVC_REFRESH_REUSE_GRACE_SECONDS="0",
            AUTHSVC_RATE_REGISTER_IP="1000/h",
            AUTHSVC_RATE_LOGIN_FAILED_IP="1000/m",
            AUTHSVC_EVENTS_RELAY_POLL_MS="200",
            DJANGO_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        ) as server,
    ):  # fmt: skip
        relays = [
            subprocess.Popen(
                [sys.executable, "manage.py", "relay_events"],
                cwd=ROOT,
                env=server.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        try:
            with ThreadPoolExecutor(THREADS) as pool:
                results = list(pool.map(lambda n: _flows(server.base, n), range(THREADS)))

            # Every event reaches the stream, once, each session's in order.
            unsent = OutboxEvent.objects.filter(sent_at__isnull=True)
            assert wait_for(lambda: not unsent.exists(), timeout=15, step=0.1)
        finally:
            for relay in relays:
                relay.terminate()
            for relay in relays:
                assert relay.wait(timeout=15) == 0
        entries = redis.Redis.from_url(redis_server.url).xrange(settings.AUTHSVC_EVENTS_STREAM)
        ids = [fields[b"id"].decode() for _, fields in entries]
        assert len(ids) == len(set(ids)) == OutboxEvent.objects.count()
        by_session: dict[str, list[str]] = {}
        for _, fields in entries:
            by_session.setdefault(fields[b"session_id"].decode(), []).append(
                fields[b"type"].decode()
            )
        for result in results:
            reused = Session.objects.get(pk=result["reused_sid"])
            assert reused.revoked_reason == "refresh_token_reused"
            types = by_session[result["reused_sid"]]
            assert types.count("session.created") == types.count("session.revoked") == 1
            assert types.index("session.created") < types.index("session.revoked")
        assert Session.objects.count() == 2 * THREADS

        # Nothing was left on PgBouncer's server connections: no relay lock outlived its
        # transaction (a session-level one would, held for nobody), and each server
        # connection still has the timeouts PgBouncer's connect_query gave it.
        with _server_connection(db) as direct:
            locks = direct.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND ((classid::bigint << 32) | objid::bigint) = %s",
                [RELAY_LOCK_KEY],
            ).fetchone()[0]
            assert locks == 0
        with psycopg.connect(bouncer.url(), autocommit=True) as pooled:
            for _ in range(POOL_SIZE * 2):
                assert pooled.execute("SHOW statement_timeout").fetchone()[0] == "4250ms"


def test_long_maintenance_refuses_to_run_through_the_pooler(settings, db):
    settings.AUTHSVC_DB_POOLER = "pgbouncer"
    with (
        pytest.raises(ImproperlyConfigured, match="straight to PostgreSQL"),
        connection.unbounded(),
    ):
        pass


def test_two_relays_take_turns_batch_by_batch(settings, transactional_db):
    """The transaction-level lock: while one process's batch holds it, another's drain
    gives up (or waits, for the fast path), and nothing is published twice."""
    settings.AUTHSVC_DB_POOLER = "pgbouncer"
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(settings.AUTHSVC_EVENTS_STREAM)
    outbox_append("session.revoked", user_id="u", session_id="s", data={"reason": "logout"})
    holding, release = threading.Event(), threading.Event()

    def other_process_batch():
        from django.db import connection as own

        with transaction.atomic(), own.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RELAY_LOCK_KEY])
            holding.set()
            release.wait(10)
        own.close()

    holder = threading.Thread(target=other_process_batch)
    holder.start()
    assert holding.wait(10)
    assert drain_exclusive(client) is None
    started = time.monotonic()
    threading.Timer(0.3, release.set).start()
    assert drain_exclusive(client, wait_ms=5000) == 1  # waited for the batch to end
    assert time.monotonic() - started >= 0.25
    holder.join(10)
    assert drain_exclusive(client) == 0
    assert [e["session_id"] for e in stream_entries(client)] == ["s"]


def test_the_fast_path_gives_up_on_a_lock_held_too_long(settings, transactional_db, monkeypatch):
    """A batch that holds the lock past the wait leaves the rows to the relay's next poll,
    without an error."""
    from audit import fastpath

    settings.AUTHSVC_DB_POOLER = "pgbouncer"
    monkeypatch.setattr(fastpath, "POOLED_LOCK_WAIT_MS", 200)
    outbox_append("session.revoked", user_id="u", session_id="s", data={"reason": "logout"})
    holding, release = threading.Event(), threading.Event()

    def other_process_batch():
        from django.db import connection as own

        with transaction.atomic(), own.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RELAY_LOCK_KEY])
            holding.set()
            release.wait(10)
        own.close()

    holder = threading.Thread(target=other_process_batch)
    holder.start()
    try:
        assert holding.wait(10)
        assert fastpath.fast_publish() == 0
        assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 1
    finally:
        release.set()
        holder.join(10)
    assert fastpath.fast_publish() == 1
