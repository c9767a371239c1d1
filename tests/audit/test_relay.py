"""The relay: the contract's entry fields, commit order, one leader, the MAXLEN cap, the
purge of published rows and the in-process fast path. Real transactions throughout: the
relay reads from connections of its own."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django_redis import get_redis_connection

from audit import fastpath
from audit.models import OutboxEvent
from audit.outbox import outbox_append, outbox_append_many
from audit.relay import Leadership, outbox_lag_seconds, stream_entry
from authsvc import clock
from sessions_store.models import Session
from tests.audit.outbox_helpers import outbox, stream_entries
from tests.audit.relay_helpers import relay_running, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _revoked(user_id, sid="") -> None:
    outbox_append("session.revoked", user_id=user_id, session_id=sid, data={"reason": "logout"})


def test_relay_once_publishes_the_contract_fields_and_marks_them_sent(logged_in, user):
    assert logged_in.post_json("/auth/logout/").status_code == 200
    call_command("relay_events", "--once")
    created, revoked = stream_entries()
    sid = str(Session.objects.get(user=user).pk)
    rows = outbox()
    assert [e["id"] for e in (created, revoked)] == [str(r.event_id) for r in rows]
    assert set(created) == {"id", "type", "occurred_at", "user_id", "session_id", "data"}
    assert (created["type"], revoked["type"]) == ("session.created", "session.revoked")
    assert revoked["user_id"] == str(user.pk) and revoked["session_id"] == sid
    assert revoked["data"] == {"reason": "logout"}
    assert created["occurred_at"].endswith("Z") and "T" in created["occurred_at"]
    assert all(r.sent_at is not None for r in rows)
    assert outbox_lag_seconds() == 0.0
    call_command("relay_events", "--once")
    assert len(stream_entries()) == 2  # nothing twice


def test_a_rolled_back_change_publishes_nothing(api, user):
    with pytest.raises(RuntimeError), transaction.atomic():
        assert api.login(user.email).status_code == 200
        raise RuntimeError
    assert not Session.objects.exists()
    call_command("relay_events", "--once")
    assert stream_entries() == []


def test_a_row_that_commits_late_is_not_skipped():
    """Transaction A takes the lower id and commits after B: B goes out first, A after."""
    inserted, commit = threading.Event(), threading.Event()

    def slow():
        with transaction.atomic():
            _revoked("a")
            inserted.set()
            commit.wait(10)
        connection.close()

    thread = threading.Thread(target=slow)
    thread.start()
    assert inserted.wait(10)
    _revoked("b")
    call_command("relay_events", "--once")
    assert [e["user_id"] for e in stream_entries()] == ["b"]
    commit.set()
    thread.join(10)
    a, b = OutboxEvent.objects.order_by("id")
    assert (a.user_id, b.user_id) == ("a", "b")  # a has the lower id...
    call_command("relay_events", "--once")
    assert [e["user_id"] for e in stream_entries()] == ["b", "a"]  # ...and still went out


def test_only_one_relay_publishes_at_a_time():
    _revoked("u")
    held, done = threading.Event(), threading.Event()

    def other_relay():  # another process's relay: a connection of its own holds the lock
        leadership = Leadership()
        assert leadership.acquire()
        held.set()
        done.wait(10)
        leadership.release()
        connection.close()

    holder = threading.Thread(target=other_relay)
    holder.start()
    assert held.wait(10)
    with pytest.raises(CommandError, match="Another relay"):
        call_command("relay_events", "--once")
    assert stream_entries() == []
    done.set()
    holder.join(10)
    call_command("relay_events", "--once")
    assert len(stream_entries()) == 1


def test_the_stream_is_capped(settings):
    settings.AUTHSVC_EVENTS_STREAM_MAXLEN = 10
    outbox_append_many(
        "session.revoked", [("u", str(n), {"reason": "logout"}) for n in range(1000)]
    )
    call_command("relay_events", "--once")
    length = get_redis_connection("default").xlen(settings.AUTHSVC_EVENTS_STREAM)
    # MAXLEN ~ trims whole stream nodes (100 entries each by default), never below the cap.
    assert 10 <= length <= 200
    assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()


def test_purge_deletes_published_rows_after_the_retention(settings):
    settings.AUTHSVC_EVENTS_OUTBOX_RETENTION_HOURS = 24
    for _ in range(3):
        _revoked("u")
    old, recent, unsent = OutboxEvent.objects.order_by("id")
    now = clock.now()
    OutboxEvent.objects.filter(pk=old.pk).update(sent_at=now - timedelta(hours=25))
    OutboxEvent.objects.filter(pk=recent.pk).update(sent_at=now - timedelta(hours=23))
    OutboxEvent.objects.filter(pk=unsent.pk).update(occurred_at=now - timedelta(days=30))
    call_command("purge_expired")
    assert sorted(OutboxEvent.objects.values_list("pk", flat=True)) == [recent.pk, unsent.pk]
    assert outbox_lag_seconds() >= 30 * 86400 - 5  # the metric sees the stuck row


def test_entry_times_are_rfc3339_utc():
    row = {
        "event_id": uuid.uuid4(),
        "type": "mfa.disabled",
        "occurred_at": clock.now(),
        "user_id": "u",
        "session_id": "",
        "data": {"by": None},
    }
    entry = stream_entry(row)
    assert entry["occurred_at"].endswith("Z") and entry["data"] == '{"by":null}'


def test_the_fast_path_publishes_a_logout_within_a_second(settings, logged_in, monkeypatch):
    settings.AUTHSVC_EVENTS_FAST_PATH = True
    monkeypatch.setattr(fastpath, "IDLE_CLOSE_SECONDS", 0.2)
    started = time.monotonic()
    assert logged_in.post_json("/auth/logout/").status_code == 200
    entries = wait_for(lambda: len(stream_entries()) == 2 and stream_entries(), 1.0)
    assert entries and entries[-1]["type"] == "session.revoked"
    assert time.monotonic() - started < 1.0


def test_the_fast_path_wakes_a_running_relay(settings, logged_in, monkeypatch):
    """With a relay holding the lock, the web process's thread NOTIFYs it instead."""
    settings.AUTHSVC_EVENTS_RELAY_POLL_MS = 60_000  # so only a wake-up can explain speed
    monkeypatch.setattr(fastpath, "IDLE_CLOSE_SECONDS", 0.2)
    with relay_running():
        assert wait_for(lambda: len(stream_entries()) == 1, 5)  # the login's, at start
        settings.AUTHSVC_EVENTS_FAST_PATH = True
        started = time.monotonic()
        assert logged_in.post_json("/auth/logout/").status_code == 200
        assert wait_for(lambda: len(stream_entries()) == 2, 1.0)
        assert time.monotonic() - started < 1.0


def test_the_fast_path_never_fails_a_request_when_redis_is_down(settings, api, user, monkeypatch):
    settings.AUTHSVC_EVENTS_FAST_PATH = True
    monkeypatch.setattr(fastpath, "IDLE_CLOSE_SECONDS", 0.2)
    monkeypatch.setattr(fastpath, "_client", _dead_redis())
    assert api.login(user.email).status_code == 200
    time.sleep(0.3)
    assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 1  # left for the relay


def _dead_redis():
    import redis

    from tests.faults import free_port

    return redis.Redis(port=free_port(), socket_connect_timeout=0.1, socket_timeout=0.1)


def test_relay_events_publishes_and_exits_cleanly_on_sigterm(settings):
    """The command as compose runs it, on the test database: it publishes, then a SIGTERM
    ends it within a second with status 0."""
    _revoked("u")
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": settings.REDIS_URL}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "relay_events"], cwd=settings.BASE_DIR, env=env
    )
    try:
        assert wait_for(lambda: len(stream_entries()) == 1, 15, step=0.05)
        relay.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert relay.wait(timeout=5) == 0
        assert time.monotonic() - started < 1.5
    finally:
        if relay.poll() is None:
            relay.kill()
