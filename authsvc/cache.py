"""The rate-limit counters' cache: the shared Redis cache while it answers, this process's
memory while it does not (see authsvc/ratelimit.py for the trade-off).

django-ratelimit counts with `add` and `incr` on the cache named by `RATELIMIT_USE_CACHE`;
this backend gives it Redis behind the per-process breaker (authsvc/redis_guard.py), so an
unreachable Redis costs one short timeout, never a 500, and the limits keep counting.
"""

import threading

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache

from authsvc.redis_guard import REDIS_ERRORS, redis_allowed, redis_failed, redis_succeeded


class FailoverCache(BaseCache):
    """OPTIONS: PRIMARY, the alias of the shared (Redis) cache; MAX_ENTRIES of the fallback."""

    def __init__(self, location, params):
        options = params.get("OPTIONS", {})
        self._primary_alias = options.get("PRIMARY", "default")
        super().__init__({**params, "OPTIONS": {}})
        self.local = LocMemCache(
            f"authsvc-failover-{location}",
            {"OPTIONS": {"MAX_ENTRIES": options.get("MAX_ENTRIES", 100_000)}},
        )
        self._local_lock = threading.Lock()

    def _call(self, name: str, *args, **kwargs):
        if redis_allowed():
            try:
                result = getattr(caches[self._primary_alias], name)(*args, **kwargs)
            except REDIS_ERRORS:
                redis_failed()
            else:
                redis_succeeded()
                return result
        # One lock, so add-then-incr on this process's counters is not interleaved.
        with self._local_lock:
            return getattr(self.local, name)(*args, **kwargs)

    def add(self, key, value, timeout=None, version=None):
        return self._call("add", key, value, timeout=timeout, version=version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default=default, version=version)

    def set(self, key, value, timeout=None, version=None):
        return self._call("set", key, value, timeout=timeout, version=version)

    def touch(self, key, timeout=None, version=None):
        return self._call("touch", key, timeout=timeout, version=version)

    def delete(self, key, version=None):
        return self._call("delete", key, version=version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta=delta, version=version)

    def decr(self, key, delta=1, version=None):
        return self._call("decr", key, delta=delta, version=version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version=version)

    def clear(self):
        self.local.clear()
        return self._call("clear")
