"""Redis down, slow or partitioned: PostgreSQL answers, nothing 500s, and no revocation
made meanwhile is undone when Redis answers again (the stale snapshot is still there)."""

import time

import jwt
import pytest

from accounts.bans import user_ban
from accounts.models import LoginLockout
from sessions_store.backends.base import TOMBSTONE
from sessions_store.models import PendingTombstone, Session
from sessions_store.revocations import deny_set_clear
from tests.accounts.mfa_helpers import enrol, login_challenged, verify
from tests.conftest import DEFAULT_PASSWORD
from tests.sessions_store.outage import outage  # noqa: F401 - the fixture
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db

CUTS = ["refuse", "blackhole"]
# A black-holed Redis costs one socket timeout (250 ms) before the breaker opens; a request
# must never hang for the whole partition.
REQUEST_BOUND_SECONDS = 2.0


def _sid(client) -> str:
    return jwt.decode(client.cookie("access_token"), options={"verify_signature": False})["sid"]


def _timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < REQUEST_BOUND_SECONDS, f"{elapsed:.2f}s"
    return response


@pytest.mark.parametrize("cut", CUTS)
def test_every_core_flow_works_from_postgresql_while_redis_is_cut(
    outage,  # noqa: F811
    client_factory,
    user,
    cut,
):
    getattr(outage.proxy, cut)()
    browser = client_factory()

    assert _timed(browser.register, "new@example.com").status_code == 201
    assert _timed(browser.get, "/auth/self/").json()["email"] == "new@example.com"
    assert _timed(browser.post_json, "/auth/refresh/").status_code == 200
    assert _timed(browser.get, "/auth/self/").status_code == 200
    access = browser.cookie("access_token")
    assert _timed(browser.post_json, "/auth/logout/").status_code == 200
    browser.cookies["access_token"] = access
    assert_error(_timed(browser.get, "/auth/self/"), 401, "invalid_token")

    assert _timed(browser.login, user.email).status_code == 200
    assert _timed(browser.get, "/auth/self/").json()["email"] == user.email
    assert_error(_timed(browser.login, user.email, "wrong"), 401, "invalid_credentials")


@pytest.mark.parametrize("cut", CUTS)
def test_a_slow_redis_costs_one_timeout_then_the_breaker_skips_it(
    outage,  # noqa: F811
    logged_in,
    cut,
):
    getattr(outage.proxy, cut)()
    first = time.monotonic()
    assert logged_in.get("/auth/self/").status_code == 200
    first = time.monotonic() - first

    started = time.monotonic()
    for _ in range(5):
        assert logged_in.get("/auth/self/").status_code == 200
    rest = (time.monotonic() - started) / 5

    assert first < REQUEST_BOUND_SECONDS
    # Open breaker: straight to PostgreSQL, no socket wait at all.
    assert rest < 0.2, f"{rest:.3f}s per request with the breaker open"


def _revoke_by_logout(client, user):
    assert client.post_json("/auth/logout/").status_code == 200


def _revoke_by_delete(client, user):
    response = client.delete(f"/auth/sessions/{_sid(client)}/")
    assert response.status_code == 204, response.content


def _revoke_by_logout_all(client, user):
    assert client.post_json("/auth/logout-all/").status_code == 200


def _revoke_by_ban(client, user):
    user_ban(user=user, reason="outage test", by=None)


def _revoke_by_password_change_elsewhere(client, user, client_factory):
    other = client_factory()
    assert other.login(user.email).status_code == 200
    response = other.post_json(
        "/auth/password/change/",
        {"current_password": DEFAULT_PASSWORD, "new_password": "a brand new passphrase 42"},
    )
    assert response.status_code == 200, response.content


REVOCATIONS = {
    "logout": _revoke_by_logout,
    "delete_session": _revoke_by_delete,
    "logout_all": _revoke_by_logout_all,
    "ban": _revoke_by_ban,
    "password_change": None,
}


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("how", list(REVOCATIONS))
def test_a_revocation_made_while_redis_is_cut_is_not_undone_when_it_answers(
    outage,  # noqa: F811
    logged_in,
    user,
    client_factory,
    how,
    cut,
):
    sid = _sid(logged_in)
    access = logged_in.cookie("access_token")
    assert logged_in.get("/auth/self/").status_code == 200
    stale = outage.cached(sid)
    assert stale and stale != TOMBSTONE.encode()

    getattr(outage.proxy, cut)()
    if how == "password_change":
        _revoke_by_password_change_elsewhere(logged_in, user, client_factory)
    else:
        REVOCATIONS[how](logged_in, user)
    assert outage.cached(sid) == stale  # Redis still holds the live-looking snapshot
    assert PendingTombstone.objects.filter(session_id=sid).exists()

    outage.restore()
    # Another process has no local memory of the revocation: only the pending rows.
    deny_set_clear()
    logged_in.cookies["access_token"] = access
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")

    # The process that reached Redis again wrote the tombstone and marked the row.
    assert outage.cached(sid) == TOMBSTONE.encode()
    assert not PendingTombstone.objects.filter(session_id=sid, flushed=False).exists()
    deny_set_clear()
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    assert Session.objects.get(pk=sid).revoked_at is not None


def test_a_snapshot_built_before_a_revocation_never_lands_after_it(
    outage,  # noqa: F811
    logged_in,
    user,
):
    """The missing-tombstone race: a process read the session alive, the revocation could
    not write a tombstone, then the snapshot is put. The deny set refuses the put."""
    from sessions_store.selectors import snapshot_build
    from sessions_store.services import _store_put

    sid = _sid(logged_in)
    session = Session.objects.select_related("user").get(pk=sid)
    built_before = snapshot_build(session)
    outage.direct().delete(f"authsvc:s:{sid}")

    outage.proxy.refuse()
    assert logged_in.post_json("/auth/logout/").status_code == 200
    outage.restore()

    _store_put(session, built_before)

    assert outage.cached(sid) is None


def test_lockout_holds_with_redis_down_and_across_a_restart(
    outage,  # noqa: F811
    api,
    user,
    settings,
):
    free = settings.AUTHSVC_LOGIN_FREE_FAILURES
    outage.proxy.refuse()
    for _ in range(free + 1):
        assert_error(api.login(user.email, "wrong"), 401, "invalid_credentials")
    assert_error(api.login(user.email), 429, "rate_limited")  # right password, same answer

    outage.server.restart()
    outage.restore()
    outage.direct().flushdb()

    assert_error(api.login(user.email), 429, "rate_limited")
    assert LoginLockout.objects.get().failures == free + 1


def test_rate_limits_count_in_the_process_while_redis_is_down(
    outage,  # noqa: F811
    client_factory,
    settings,
):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "register_ip": "2/h"}
    outage.proxy.refuse()

    assert client_factory().register().status_code == 201
    assert client_factory().register().status_code == 201
    assert_error(client_factory().register(), 429, "rate_limited")


def test_a_2fa_login_works_while_redis_is_down(
    outage,  # noqa: F811
    logged_in,
    client_factory,
    user,
    clock,
):
    enrolled = enrol(logged_in, clock)
    outage.proxy.refuse()
    browser = client_factory()

    login_challenged(browser, user.email)
    response = verify(browser, enrolled.code(clock))

    assert response.status_code == 200, response.content
    assert browser.get("/auth/self/").json()["mfa_enabled"] is True
