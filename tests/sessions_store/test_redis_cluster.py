"""A 3-master Redis Cluster behind `REDIS_URL=redis+cluster://...`: the core flows end to end,
and every script and multi-key command of the store on keys that hash to different nodes."""

import pytest
from redis.cluster import RedisCluster as ClusterClient

from authsvc.redis_url import redis_target
from sessions_store.backends.base import REVOKED, SessionStoreUnavailable, Snapshot
from sessions_store.backends.redis import SESSION_KEY, USER_KEY, RedisSessionStore
from tests.engines import RedisCluster
from tests.sessions_store import engine_flows as flows

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def cluster():
    with RedisCluster(masters=3) as started:
        yield started


@pytest.fixture
def on_cluster(cluster, settings):
    flows.engine(cluster.url).flushdb()  # every primary
    flows.point_at(settings, cluster.url)
    yield cluster.url
    flows.forget()


def test_the_url_names_a_cluster(on_cluster):
    target = redis_target(on_cluster)
    assert target.kind == "cluster" and len(target.hosts) == 3
    assert isinstance(RedisSessionStore().client, ClusterClient)


def test_register_login_refresh_logout(on_cluster, client_factory, make_user):
    flows.register_login_refresh_logout(client_factory, make_user, on_cluster)


def test_refresh_reuse_revokes_the_session(on_cluster, client_factory, make_user, clock):
    flows.refresh_reuse_detection(client_factory, make_user, clock, on_cluster)


def test_rate_limits_and_lockout(on_cluster, client_factory, make_user, settings, clock):
    flows.rate_limits_and_lockout(client_factory, make_user, settings, clock)


def test_events_reach_the_stream(on_cluster, client_factory, make_user):
    flows.events_reach_the_stream(client_factory, make_user, on_cluster)


def _snapshot(sid: str, user_id: str) -> Snapshot:
    return Snapshot(
        sid=sid,
        user_id=user_id,
        email="a@example.com",
        name="A",
        roles=[],
        email_verified=True,
        mfa_enabled=False,
        date_joined="2026-01-01T00:00:00+00:00",
        amr=["pwd"],
    )


def test_the_store_on_keys_spread_over_every_node(on_cluster):
    store = RedisSessionStore()
    client = store.client
    sids = [f"sid-{i}" for i in range(24)]
    # The test means something only if the keys do land on different nodes.
    nodes = {client.get_node_from_key(SESSION_KEY.format(sid)).name for sid in sids}
    assert len(nodes) == 3
    assert client.get_node_from_key(USER_KEY.format("u1")).name in nodes

    for sid in sids:
        assert store.put(_snapshot(sid, "u1"), 60) is True
    assert store.touch(sids[0], "u1", 120).sid == sids[0]
    assert 60 < client.ttl(SESSION_KEY.format(sids[0])) <= 120
    assert store.user_sessions("u1") == set(sids)

    store.revoke(sids[:20], "u1", 60)

    assert all(store.get(sid) is REVOKED for sid in sids[:20])
    assert store.put(_snapshot(sids[0], "u1"), 60) is False  # the tombstone wins
    assert store.touch(sids[1], "u1", 60) is REVOKED
    assert store.user_sessions("u1") == set(sids[20:])
    assert store.get(sids[23]).sid == sids[23]


def test_replicated_tombstones_wait_on_every_master_that_took_some(on_cluster, settings):
    """This cluster's masters have no replica: WAIT on each answers 0, so the revocation
    must not count as written (the caller records it as pending in PostgreSQL)."""
    settings.AUTHSVC_REDIS_REVOCATION_REPLICAS = 1
    store = RedisSessionStore()
    sids = [f"sid-{i}" for i in range(12)]

    with pytest.raises(SessionStoreUnavailable, match="0 of 1 replicas"):
        store.revoke(sids, "u1", 60)

    # Each tombstone was written through its own master's connection before the WAIT.
    assert all(store.get(sid) is REVOKED for sid in sids)
