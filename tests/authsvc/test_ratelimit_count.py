"""The rate-limit counter in one Redis round trip (`FailoverCache.count`): the same counter
django-ratelimit's add-then-incr kept, the same refusals."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django_redis import get_redis_connection

from authsvc.ratelimit import RateLimited, rate_limit, rate_limit_refund


@pytest.fixture
def counters():
    cache = caches[settings.RATELIMIT_USE_CACHE]
    assert hasattr(cache, "count"), "the tests run with the Redis-backed FailoverCache"
    cache.clear()
    yield cache
    cache.clear()


def test_a_new_counter_starts_at_one_with_its_windows_expiry_and_keeps_it(counters):
    redis = get_redis_connection(counters._primary_alias)

    assert counters.count("rl:test", 65) == 1
    key = caches[counters._primary_alias].client.make_key("rl:test")
    assert 60 < redis.ttl(key) <= 65
    redis.expire(key, 30)
    assert counters.count("rl:test", 65) == 2
    assert redis.ttl(key) <= 30  # counting in a window never extends it

    # The plain integer django-redis stores: its own get and decr (the refund) read it.
    assert counters.get("rl:test") == 2
    assert counters.decr("rl:test") == 1


def test_a_limit_refuses_past_its_rate_and_a_refund_gives_one_back(counters):
    for _ in range(3):
        rate_limit(None, group="refresh_session", key="s1", rate="3/m")
    with pytest.raises(RateLimited) as refused:
        rate_limit(None, group="refresh_session", key="s1", rate="3/m")
    assert refused.value.group == "refresh_session"
    assert 1 <= refused.value.retry_after <= 60

    rate_limit(None, group="refresh_session", key="s2", rate="3/m")  # a key of its own

    rate_limit_refund(None, group="refresh_session", key="s1", rate="3/m")
    rate_limit_refund(None, group="refresh_session", key="s1", rate="3/m")
    rate_limit(None, group="refresh_session", key="s1", rate="3/m")  # back under


def test_without_redis_it_counts_in_the_process(counters, monkeypatch):
    monkeypatch.setattr("authsvc.cache.redis_allowed", lambda: False)

    assert counters.count("rl:local", 65) == 1
    assert counters.count("rl:local", 65) == 2
    assert counters.local.get("rl:local") == 2
