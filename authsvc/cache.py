"""The rate-limit counters' cache: the shared Redis cache while it answers, this process's
memory while it does not (see authsvc/ratelimit.py for the trade-off).

django-ratelimit counts with `add` and `incr` on the cache named by `RATELIMIT_USE_CACHE`;
this backend gives it Redis behind the per-process breaker (authsvc/redis_guard.py), so an
unreachable Redis costs one short timeout, never a 500, and the limits keep counting.
`count` is the same add-then-incr in one Redis round trip (`authsvc.ratelimit` uses it).
"""

import threading

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from redis.commands.core import Script

from authsvc.redis_guard import REDIS_ERRORS, redis_allowed, redis_failed, redis_succeeded

# django-ratelimit's `add(key, 1, timeout)` then, when the key was there, `incr(key)`: the
# counter starts at 1 with its window's expiry, or goes up by one keeping it. Atomic, and
# the value is the plain integer django-redis stores, so `get`, `incr` and `decr` (the
# refund) read it as before.
_COUNT_LUA = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


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

    def count(self, key, timeout: int) -> int | None:
        """Count one more in the counter `key`, started with `timeout` seconds to live when
        new: its value (None when it could not be counted), in one round trip to Redis."""
        if redis_allowed():
            primary = caches[self._primary_alias]
            client = getattr(primary, "client", None)
            try:
                if client is None:  # not django-redis: its own add, then incr
                    result = _add_then_incr(primary, key, timeout)
                else:
                    connection = client.get_client(write=True)
                    result = self._count_script(connection)(
                        keys=[client.make_key(key)], args=[timeout], client=connection
                    )
            except REDIS_ERRORS:
                redis_failed()
            else:
                redis_succeeded()
                return result
        with self._local_lock:
            return _add_then_incr(self.local, key, timeout)

    def _count_script(self, connection) -> Script:
        # Registered once; redis-py's Script sends EVALSHA, and loads it on a NOSCRIPT.
        script = getattr(self, "_script", None)
        if script is None:
            script = self._script = connection.register_script(_COUNT_LUA)
        return script

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


def _add_then_incr(cache, key, timeout: int) -> int | None:
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two
        return None
