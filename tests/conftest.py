"""Shared fixtures: real PostgreSQL (pytest-django's test database) and real Redis (db 15)."""

import base64
import itertools
from datetime import UTC, datetime, timedelta
from urllib.parse import quote_plus

import pytest
from django.conf import settings
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from accounts.models import User
from authsvc.redis_guard import breaker_reset
from sessions_store.backends import get_session_store
from sessions_store.backends.memory import MemorySessionStore
from sessions_store.revocations import deny_set_clear
from tokens import service_clients

DEFAULT_PASSWORD = "correct horse battery staple"
_emails = itertools.count(1)


@pytest.fixture(autouse=True)
def _clean_session_store():
    """Every test starts with an empty session store."""
    if settings.AUTHSVC_SESSION_STORE.endswith("RedisSessionStore"):
        get_redis_connection("default").flushdb()
    store = get_session_store()
    if isinstance(store, MemorySessionStore):
        store.clear()
    # Per-process Redis-outage state: no test inherits another's open breaker or deny set.
    breaker_reset()
    deny_set_clear()
    service_clients.clear_cache()
    yield


@pytest.fixture(autouse=True)
def _forget_detached_events(monkeypatch, django_db_blocker):
    """Failed attempts are audited on a connection of their own that commits at once
    (audit/events.py), outside the test's rolled-back transaction: delete them after
    the test, so no test sees another's events."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from audit import events

    wrote = []
    insert = events._insert_detached

    def tracked(row):
        wrote.append(row["type"])
        insert(row)

    monkeypatch.setattr(events, "_insert_detached", tracked)
    yield
    if wrote:
        with django_db_blocker.unblock():
            own = connections.create_connection(DEFAULT_DB_ALIAS)
            try:
                with own.cursor() as cursor:
                    cursor.execute("DELETE FROM audit_authevent")
            finally:
                own.close()


_detached_rows_left = []


@pytest.fixture(autouse=True)
def _forget_detached_outage_rows(monkeypatch, django_db_blocker):
    """Pending tombstones are written on a connection of their own inside a transaction
    (authsvc/detached.py), outside the test's rolled-back one: delete them before the next
    test (not at teardown, where the test's transaction may still hold their row locks)."""
    from django.db import DEFAULT_DB_ALIAS, connections

    create = connections.create_connection
    if _detached_rows_left:
        _detached_rows_left.clear()
        with django_db_blocker.unblock():
            own = create(DEFAULT_DB_ALIAS)
            try:
                with own.cursor() as cursor:
                    cursor.execute("DELETE FROM sessions_store_pendingtombstone")
            finally:
                own.close()

    def tracked(alias):
        _detached_rows_left.append(alias)
        return create(alias)

    monkeypatch.setattr(connections, "create_connection", tracked)
    yield


@pytest.fixture(autouse=True)
def _mail_handed_over_at_once(request, monkeypatch):
    """Queued mail is handed over after the commit (mailqueue/queue.py), and the test
    settings send it then (AUTHSVC_MAIL_SEND_ON_COMMIT); a test's transaction never commits,
    so here the hand-over runs at once and mail.outbox has the mail when the call returns.
    Tests marked `mail_queue` see the queue as production runs it."""
    if "mail_queue" not in request.keywords:
        monkeypatch.setattr("mailqueue.queue.after_commit", lambda callback: callback())
    yield


class Clock:
    """A settable `authsvc.clock.now`."""

    def __init__(self, start: datetime):
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(datetime.now(tz=UTC).replace(microsecond=0))
    monkeypatch.setattr("authsvc.clock.now", fake.now)
    return fake


class AuthClient(APIClient):
    """A browser-like client: keeps cookies, enforces CSRF and echoes the CSRF cookie."""

    def __init__(self, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)

    def csrf(self) -> str:
        if "csrftoken" not in self.cookies:
            self.get("/auth/csrf/")
        return self.cookies["csrftoken"].value

    def generic(self, method, path, data="", content_type="application/json", **extra):
        if method.upper() not in {"GET", "HEAD", "OPTIONS", "TRACE"} and not extra.pop(
            "no_csrf", False
        ):
            extra.setdefault("HTTP_X_CSRFTOKEN", self.csrf())
        return super().generic(method, path, data, content_type, **extra)

    def post_json(self, path, data=None, **extra):
        return self.post(path, data if data is not None else {}, format="json", **extra)

    def register(self, email=None, password=DEFAULT_PASSWORD, name="Test User"):
        email = email or f"user{next(_emails)}@example.com"
        return self.post_json(
            "/auth/register/", {"email": email, "password": password, "name": name}
        )

    def login(self, email, password=DEFAULT_PASSWORD):
        return self.post_json("/auth/login/", {"email": email, "password": password})

    def cookie(self, name: str) -> str | None:
        morsel = self.cookies.get(name)
        return morsel.value if morsel is not None and morsel.value else None


@pytest.fixture
def client_factory():
    return AuthClient


@pytest.fixture
def api():
    return AuthClient()


@pytest.fixture
def make_user(db):
    def make(email=None, password=DEFAULT_PASSWORD, **fields) -> User:
        email = email or f"person{next(_emails)}@example.com"
        return User.objects.create_user(email=email, password=password, **fields)

    return make


@pytest.fixture
def user(make_user):
    return make_user(email="alice@example.com", name="Alice")


@pytest.fixture
def logged_in(api, user):
    """`api` logged in as `user`."""
    response = api.login(user.email)
    assert response.status_code == 200, response.content
    return api


def lockout_failures(email: str) -> int:
    """Wrong passwords in a row that the account lockout holds for `email`."""
    from accounts.lockout import _key
    from accounts.models import LoginLockout

    row = LoginLockout.objects.filter(email_digest=_key(email)).first()
    return row.failures if row else 0


@pytest.fixture
def make_service_client(db):
    """`make(scopes=..., audiences=...)` -> (client, secret): a service client as the
    operator's command creates it."""
    names = itertools.count(1)

    def make(*, scopes=("introspect",), audiences=(), name=None):
        return service_clients.service_client_create(
            name=name or f"service-{next(names)}", scopes=list(scopes), audiences=list(audiences)
        )

    return make


def basic_auth(client_id: str, secret: str) -> str:
    """The `HTTP_AUTHORIZATION` value of RFC 6749 §2.3.1's client_secret_basic."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def logged_events(caplog) -> list[dict]:
    """The security events' log lines (`audit.events`), as the fields each line carries."""
    return [record.fields for record in caplog.records if record.name == "authsvc.events"]
