"""A Sentinel-managed master (one replica, three Sentinels) behind
`REDIS_URL=redis+sentinel://...`: the core flows end to end, then a failover
(SENTINEL FAILOVER) after which the app writes to and reads from the new master."""

import pytest
import redis

from sessions_store.backends.base import TOMBSTONE
from sessions_store.backends.redis import SESSION_KEY
from sessions_store.models import PendingTombstone
from tests.audit.relay_helpers import wait_for
from tests.engines import RedisSentinels
from tests.sessions_store import engine_flows as flows

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def sentinels():
    with RedisSentinels() as started:
        yield started


@pytest.fixture
def on_sentinel(sentinels, settings):
    flows.engine(sentinels.url).flushdb()
    flows.point_at(settings, sentinels.url)
    yield sentinels.url
    flows.forget()


def test_register_login_refresh_logout(on_sentinel, client_factory, make_user):
    flows.register_login_refresh_logout(client_factory, make_user, on_sentinel)


def test_refresh_reuse_revokes_the_session(on_sentinel, client_factory, make_user, clock):
    flows.refresh_reuse_detection(client_factory, make_user, clock, on_sentinel)


def test_rate_limits_and_lockout(on_sentinel, client_factory, make_user, settings, clock):
    flows.rate_limits_and_lockout(client_factory, make_user, settings, clock)


def test_events_reach_the_stream(on_sentinel, client_factory, make_user):
    flows.events_reach_the_stream(client_factory, make_user, on_sentinel)


def _logout(client_factory, make_user) -> tuple[str, object]:
    browser = client_factory()
    assert browser.login(make_user().email).status_code == 200
    sid, access = flows.sid_of(browser), browser.cookie("access_token")
    assert browser.post_json("/auth/logout/").status_code == 200
    browser.cookies["access_token"] = access
    return sid, browser


def test_a_revocation_waits_until_the_replica_has_its_tombstone(
    on_sentinel, sentinels, client_factory, make_user, settings
):
    settings.AUTHSVC_REDIS_REVOCATION_REPLICAS = 1

    sid, browser = _logout(client_factory, make_user)

    (replica_port,) = sentinels.replica_ports()
    replica = redis.Redis(host="127.0.0.1", port=replica_port, socket_timeout=2)
    # Read at once from the replica: WAIT returned only once it had the write.
    assert replica.get(SESSION_KEY.format(sid)) == TOMBSTONE.encode()
    assert not PendingTombstone.objects.filter(session_id=sid).exists()
    assert browser.get("/auth/self/").json() == flows.INVALID_TOKEN


def test_short_of_replicas_a_revocation_is_pending_in_postgresql(
    on_sentinel, client_factory, make_user, settings
):
    settings.AUTHSVC_REDIS_REVOCATION_REPLICAS = 2  # the set has one

    sid, browser = _logout(client_factory, make_user)

    assert PendingTombstone.objects.filter(session_id=sid, flushed=False).exists()
    assert browser.get("/auth/self/").json() == flows.INVALID_TOKEN


def test_after_a_failover_the_app_uses_the_new_master(
    on_sentinel, sentinels, client_factory, make_user, settings
):
    """The set's master moves: the tests above ask the Sentinels for the roles."""
    settings.AUTHSVC_REDIS_BREAKER_SECONDS = 1
    user = make_user()
    before = client_factory()
    assert before.login(user.email).status_code == 200
    old_port = sentinels.master_address()[1]

    new_port = sentinels.failover()

    assert new_port != old_port
    new_master = redis.Redis(host="127.0.0.1", port=new_port, socket_timeout=2)
    # The session made before the failover was replicated, and is served after it.
    assert before.get("/auth/self/").json()["email"] == user.email

    # New writes land on the new master: at most one request meets the demoted one (its
    # connection is dropped and retried) or the breaker's pause, served by PostgreSQL.
    def lands_on_new_master():
        browser = client_factory()
        assert browser.login(user.email).status_code == 200
        return browser if new_master.get(SESSION_KEY.format(flows.sid_of(browser))) else None

    after = wait_for(lands_on_new_master, timeout=10, step=0.5)
    assert after, "no snapshot reached the new master"
    sid, access = flows.sid_of(after), after.cookie("access_token")
    assert after.post_json("/auth/logout/").status_code == 200
    assert new_master.get(SESSION_KEY.format(sid)) == TOMBSTONE.encode()
    after.cookies["access_token"] = access
    assert after.get("/auth/self/").json() == flows.INVALID_TOKEN
    # The event stream follows the master too.
    flows.events_reach_the_stream(client_factory, make_user, on_sentinel)
    assert new_master.xlen(settings.AUTHSVC_EVENTS_STREAM) >= 2
