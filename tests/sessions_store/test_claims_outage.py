"""Session claims against a racing revocation and an unreachable Redis: a revoked session
never comes back, and the claims are served from PostgreSQL while Redis is down."""

import threading

import pytest
from django.db import connections

from sessions_store import services
from sessions_store.backends.base import TOMBSTONE
from sessions_store.selectors import session_snapshot
from sessions_store.services import session_claims_set, session_revoke
from tests.sessions_store.claims_helpers import (  # noqa: F401 - fixtures
    authz,
    claims_of,
    service_factory,
    session_id,
)
from tests.sessions_store.outage import outage  # noqa: F401 - the fixture
from tests.tokens.conftest import assert_error

PERMISSIONS = ["orders:read", "orders:write"]


@pytest.mark.django_db(transaction=True)
def test_a_revocation_racing_the_claims_write_wins(logged_in, monkeypatch):
    """The revocation's UPDATE arrives while the claims are being written: it waits for the
    claims' row lock, so its tombstone lands after the claims' snapshot and stays."""
    sid = session_id()
    revoker: dict = {}
    put = services._store_put

    def revoke():
        try:
            revoker["result"] = session_revoke(session_id=sid, reason="logout")
        finally:
            connections.close_all()  # this thread's own connection

    def put_while_revoking(session, snapshot):
        thread = threading.Thread(target=revoke)
        thread.start()
        thread.join(timeout=0.5)
        # Blocked on the row the claims write holds: its tombstone cannot land first.
        revoker["waited"] = thread.is_alive()
        revoker["thread"] = thread
        put(session, snapshot)

    monkeypatch.setattr(services, "_store_put", put_while_revoking)

    session_claims_set(sid=sid, permissions=PERMISSIONS, attributes={}, client_id="svc_test")

    revoker["thread"].join(timeout=10)
    assert revoker["waited"] is True
    assert revoker["result"] is not None  # it revoked a live session, after the claims
    assert session_snapshot(sid) is None
    from django_redis import get_redis_connection

    from sessions_store.backends.redis import SESSION_KEY

    assert get_redis_connection("default").get(SESSION_KEY.format(sid)) == TOMBSTONE.encode()
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    assert_error(logged_in.post_json("/auth/refresh/"), 401, "invalid_token")


@pytest.mark.django_db
def test_a_tombstone_written_before_the_put_is_never_overwritten(logged_in, monkeypatch):
    """A revocation whose tombstone reached the store between the claims' check and their
    put (another path, another process): the put is refused, the session stays dead."""
    sid = session_id()
    put = services._store_put

    def tombstone_first(session, snapshot):
        services.get_session_store().revoke([sid], str(session.user_id), 60)
        put(session, snapshot)

    monkeypatch.setattr(services, "_store_put", tombstone_first)

    session_claims_set(sid=sid, permissions=PERMISSIONS, attributes={}, client_id="svc_test")

    assert session_snapshot(sid) is None
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")


@pytest.mark.django_db
@pytest.mark.parametrize("cut", ["refuse", "blackhole"])
def test_claims_are_set_and_served_from_postgresql_while_redis_is_cut(
    outage,  # noqa: F811
    logged_in,
    authz,  # noqa: F811
    cut,
):
    sid = session_id()
    access = logged_in.cookie("access_token")
    getattr(outage.proxy, cut)()

    response = authz.put_claims(sid, {"permissions": PERMISSIONS, "attributes": {"t": "a"}})

    assert response.status_code == 200, response.content
    # The snapshot rebuilt from the database carries them, for introspection at once...
    snapshot = session_snapshot(sid)
    assert (snapshot.permissions, snapshot.attributes) == (PERMISSIONS, {"t": "a"})
    assert authz.introspect(access).json()["permissions"] == PERMISSIONS
    # ...and for the next refresh's token.
    assert logged_in.post_json("/auth/refresh/").status_code == 200
    claims = claims_of(logged_in.cookie("access_token"))
    assert (claims["permissions"], claims["attrs"]) == (PERMISSIONS, {"t": "a"})


@pytest.mark.django_db
def test_a_session_revoked_while_redis_was_cut_refuses_claims(
    outage,  # noqa: F811
    logged_in,
    authz,  # noqa: F811
):
    sid = session_id()
    outage.proxy.refuse()
    assert logged_in.post_json("/auth/logout/").status_code == 200

    assert_error(authz.put_claims(sid, {"permissions": PERMISSIONS}), 404, "not_found")

    outage.restore()
    # The stale snapshot still in Redis is not trusted: the pending tombstone wins.
    assert session_snapshot(sid) is None
