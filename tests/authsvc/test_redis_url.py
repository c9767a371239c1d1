"""REDIS_URL's three forms (authsvc/redis_url.py), parsed in one place."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from authsvc.redis_url import CLUSTER, SENTINEL, STANDALONE, redis_caches, redis_target


def test_one_server():
    target = redis_target("rediss://:secret@cache:6380/2")
    assert (target.kind, target.tls) == (STANDALONE, True)


def test_sentinel_with_its_hosts_service_db_and_passwords():
    target = redis_target(
        "redis+sentinel://:p%40ss@s1:26379,s2,[::1]:26380/mymaster/3?sentinel_password=sp"
    )
    assert target.kind == SENTINEL
    assert target.hosts == (("s1", 26379), ("s2", 26379), ("::1", 26380))
    assert (target.service, target.db) == ("mymaster", 3)
    assert (target.password, target.sentinel_password) == ("p@ss", "sp")
    assert "p@ss" not in repr(target)  # never in a log line or a traceback


def test_cluster_with_any_nodes():
    target = redis_target("rediss+cluster://user:pw@n1:7000,n2:7001")
    assert (target.kind, target.tls, target.username, target.password) == (
        CLUSTER,
        True,
        "user",
        "pw",
    )
    assert target.hosts == (("n1", 7000), ("n2", 7001))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://cache", "must start with one of"),
        ("redis+sentinel://s1:26379", "must name the master"),
        ("redis+sentinel://s1:x/m/0", "bad port"),
        ("redis+sentinel://s1/m/zero", "must be a number"),
        ("redis+cluster:///", "names no host"),
        ("redis+cluster://n1:7000/1", "db 0 only"),
    ],
)
def test_malformed_urls_are_refused(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        redis_target(url)


def test_the_cache_location_is_a_list_so_host_lists_are_not_split():
    caches = redis_caches("redis+cluster://n1:7000,n2:7001", timeout_ms=250)
    assert caches["default"]["LOCATION"] == ["redis+cluster://n1:7000,n2:7001"]
    assert caches["default"]["OPTIONS"]["SOCKET_TIMEOUT"] == 0.25
    assert caches["ratelimit"]["OPTIONS"] == {"PRIMARY": "default"}
