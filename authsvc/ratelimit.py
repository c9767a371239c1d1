"""Rate limits: fixed-window counters in the shared cache (Redis in production), so every
worker counts together.

While Redis is unreachable (authsvc/redis_guard.py: a short timeout, then the breaker) each
process counts in its own memory instead. The trade-off, chosen over counting in
PostgreSQL: a limit never fails open and never turns into a 500, and the hot endpoints
(refresh) do not add a database write per request; the price is that for the length of an
outage the effective limit is the configured one times the number of processes, and the
counts of that time are forgotten when Redis answers again. The limits that guard
passwords do not rely on this alone: the per-account lockout is in PostgreSQL
(accounts/lockout.py).
"""

import contextlib
import hashlib
import math
import re
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache

from authsvc.errors import ServiceError
from authsvc.http import client_ip
from authsvc.redis_guard import REDIS_ERRORS, redis_allowed, redis_failed, redis_succeeded

_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(ServiceError):
    code = "rate_limited"
    kind = "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = max(1, int(retry_after))


def _digest(value: str) -> str:
    # Counter keys never hold an email address in clear.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def parse_rate(rate: str) -> tuple[int, int]:
    """("5/15m") -> (5, 900): the count allowed per window of that many seconds."""
    match = _RATE.match(rate.strip())
    if match is None:
        raise ValueError(f"not a rate: {rate!r} (e.g. 10/m, 5/15m)")
    count, multiple, unit = match.groups()
    return int(count), _PERIODS[unit] * int(multiple or 1)


class _Window:
    def __init__(self, group: str, key: str, rate: str | None):
        self.limit, period = parse_rate(rate or settings.AUTHSVC_RATE_LIMITS[group])
        now = time.time()
        start = int(now // period * period)
        self.key = f"authsvc:rl:{group}:{_digest(key)}:{start}"
        self.time_left = max(1, math.ceil(start + period - now))
        self.timeout = period + 1


# The counters of the time Redis is unreachable: this process only (see the module doc).
_local = LocMemCache("authsvc-ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
_local_lock = threading.Lock()


def _shared(operation, *args):
    """Run `operation(cache, *args)` on the shared cache, else on this process's counters."""
    if redis_allowed():
        try:
            result = operation(cache, *args)
        except REDIS_ERRORS:
            redis_failed()
        else:
            redis_succeeded()
            return result
    with _local_lock:
        return operation(_local, *args)


def _incr(store, key: str, timeout: int) -> int:
    # The first request of a window is one round trip (SET NX), the others one INCR.
    if store.add(key, 1, timeout=timeout):
        return 1
    try:
        return store.incr(key)
    except ValueError:  # it expired between add and incr: a new count starts
        store.set(key, 1, timeout=timeout)
        return 1


def _decr(store, key: str) -> None:
    # ValueError: the window ended, or Redis changed sides: nothing to give back.
    with contextlib.suppress(ValueError):
        store.decr(key)


def rate_limit(request, *, group: str, key: str, rate: str | None = None) -> None:
    """Count this request against `rate` (e.g. "5/h"; by default the group's setting in
    AUTHSVC_RATE_LIMITS) for `key`; RateLimited when over. `request` is unused (services
    count by a key they found themselves) and kept for the callers' symmetry."""
    if not settings.RATELIMIT_ENABLE:
        return
    window = _Window(group, key, rate)
    if _shared(_incr, window.key, window.timeout) > window.limit:
        raise RateLimited(retry_after=window.time_left)


def rate_limit_ip(request, group: str) -> None:
    """`rate_limit` per client IP (REMOTE_ADDR unless proxies are trusted)."""
    rate_limit(request, group=group, key=client_ip(request) or "")


def rate_limit_reserve(request, *, group: str, key: str, rate: str | None = None) -> None:
    """For limits that count only failures (failed logins per IP): count the attempt before
    it is made, RateLimited when over, and `rate_limit_refund` it once it succeeded. Counting
    first is what makes the limit hold for parallel attempts: a check followed by a count
    lets every attempt in flight pass the check."""
    rate_limit(request, group=group, key=key, rate=rate)


def rate_limit_refund(request, *, group: str, key: str, rate: str | None = None) -> None:
    """Give back an attempt `rate_limit_reserve` counted, because it succeeded."""
    if not settings.RATELIMIT_ENABLE:
        return
    window = _Window(group, key, rate)
    _shared(_decr, window.key)


def backoff_delay(failures: int, *, free: int, ceiling: int) -> int:
    """Seconds to wait after `failures` consecutive failures: none for the first `free`
    (typos), then 2, 4, 8 ... up to `ceiling`. Slows a guesser to about one try per
    `ceiling` while its victim is only slowed down, never locked out for good."""
    over = failures - free
    if over <= 0:
        return 0
    return min(2 ** min(over, 32), ceiling)


def backoff_wait(failures: int, *, last: float | None, now: float, free: int, ceiling: int) -> int:
    """Whole seconds (rounded up) until the next try after `failures` consecutive ones, the
    last at Unix time `last`; 0 when it may go now."""
    delay = backoff_delay(failures, free=free, ceiling=ceiling)
    if not delay or last is None:
        return 0
    return max(0, math.ceil(last + delay - now))
