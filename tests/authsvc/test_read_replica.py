"""A read replica (`DATABASE_REPLICA_URL`): a real streaming replica of a PostgreSQL primary
of the test's own (tests/engines.py). With the replica's replay paused, it is a moment in
the past: what it serves shows that moment, and everything that decides (register, login,
refresh, token validity, revocation) works for a user the replica has never seen."""

import subprocess
import sys

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from authsvc.replica import PrimaryReplicaRouter, replica
from sessions_store.models import Session
from tests.audit.relay_helpers import wait_for
from tests.conftest import DEFAULT_PASSWORD
from tests.engines import PostgresReplicaPair
from tests.faults import RedisServer
from tests.live import ROOT, Browser, LiveServer


def _register(base: str, email: str) -> Browser:
    browser = Browser()
    body = {"email": email, "password": DEFAULT_PASSWORD, "name": "R"}
    status, answer = browser.call(base, "POST", "/auth/register/", body)
    assert status == 201, answer
    return browser


def _login(base: str, email: str) -> Browser:
    browser = Browser()
    body = {"email": email, "password": DEFAULT_PASSWORD}
    assert browser.call(base, "POST", "/auth/login/", body)[0] == 200
    return browser


def _listed(browser: Browser, base: str) -> set[str]:
    status, sessions = browser.call(base, "GET", "/auth/sessions/")
    assert status == 200, sessions
    return {s["id"] for s in sessions}


def test_the_replica_serves_the_session_list_and_never_a_decision():
    with PostgresReplicaPair() as pair, RedisServer() as redis_server:
        env = {
            "DATABASE_REPLICA_URL": pair.replica_url,
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "AUTHSVC_REFRESH_REUSE_GRACE_SECONDS": "0",
        }
        live = LiveServer(
            database_url=pair.primary_url,
            redis_url=redis_server.url,
            keys_dir=settings.AUTHSVC_KEYS_DIR,
            **env,
        )
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=live.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stderr
        with live:
            base = live.base
            first = _register(base, "seen@example.com")
            assert wait_for(pair.caught_up, timeout=10, step=0.05)
            assert len(_listed(first, base)) == 1

            pair.pause_replay()
            try:
                # The replica is now frozen in the past.
                second = _login(base, "seen@example.com")
                assert len(_listed(second, base)) == 1  # the list comes from the replica

                # A user the replica has never seen: every decision reads the primary.
                unseen = _register(base, "unseen@example.com")
                assert unseen.call(base, "GET", "/auth/self/")[1]["email"] == "unseen@example.com"
                assert unseen.call(base, "POST", "/auth/refresh/", {})[0] == 200
                access = unseen.cookies["access_token"]
                status, answer = Browser().call(base, "GET", "/auth/self/", bearer=access)
                assert status == 200, answer
                wrong = {"email": "unseen@example.com", "password": "wrong"}
                assert Browser().call(base, "POST", "/auth/login/", wrong)[0] == 401
                assert _login(base, "unseen@example.com") is not None
                assert unseen.call(base, "POST", "/auth/logout/", {})[0] == 200
                status, answer = Browser().call(base, "GET", "/auth/self/", bearer=access)
                assert (status, answer["error"]) == (401, "invalid_token")

                # Ending a session the replica does not know checks and writes the primary.
                assert second.call(base, "GET", "/auth/self/")[0] == 200
                listed_on_replica = _listed(first, base)
                access_of_second = second.cookies["access_token"]
                for sid in _sids_on_primary(pair, "seen@example.com") - listed_on_replica:
                    status, _ = first.call(base, "DELETE", f"/auth/sessions/{sid}/")
                    assert status == 204
                status, answer = Browser().call(base, "GET", "/auth/self/", bearer=access_of_second)
                assert (status, answer["error"]) == (401, "invalid_token")
            finally:
                pair.resume_replay()

            assert wait_for(pair.caught_up, timeout=10, step=0.05)
            assert len(_listed(first, base)) == 1  # the replica caught up: one live session

            # The replica goes away: its reads fail over to the primary (after at most the
            # requests that meet the dead connection), and no decision ever noticed.
            pair.kill(pair.replica_port)
            third = _login(base, "seen@example.com")
            answers = []

            def listed_from_primary():
                status, sessions = first.call(base, "GET", "/auth/sessions/")
                answers.append(status)
                return status == 200 and len(sessions) == 2

            assert wait_for(listed_from_primary, timeout=15, step=0.2), answers
            assert set(answers) <= {200, 503}
            assert third.call(base, "POST", "/auth/refresh/", {})[0] == 200


def _sids_on_primary(pair: PostgresReplicaPair, email: str) -> set[str]:
    with pair.connect(pair.primary_port, pair.database) as conn:
        rows = conn.execute(
            "SELECT s.id FROM sessions_store_session s JOIN accounts_user u ON u.id = s.user_id "
            "WHERE u.email = %s AND s.revoked_at IS NULL",
            [email],
        ).fetchall()
    return {str(row[0]) for row in rows}


def test_the_router_writes_to_the_primary_and_migrates_it_alone():
    router = PrimaryReplicaRouter()
    row = Session()
    row._state.db = "replica"  # as if read from the replica

    assert router.db_for_write(Session, instance=row) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Session) is None  # Django's default: the primary
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "sessions_store") is True
    assert router.allow_migrate("replica", "sessions_store") is False


def test_without_a_replica_the_chosen_reads_use_the_primary():
    assert "replica" not in settings.DATABASES
    assert replica() == DEFAULT_DB_ALIAS
