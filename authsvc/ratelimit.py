"""Rate limits on django-ratelimit's counters, kept in the shared cache (Redis in
production) so every worker counts together."""

import hashlib
import math

from django.conf import settings
from django.core.cache import cache
from django_ratelimit.core import get_usage

from authsvc.errors import ServiceError
from authsvc.http import client_ip


class RateLimited(ServiceError):
    code = "rate_limited"
    kind = "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = max(1, int(retry_after))


def _digest(value: str) -> str:
    # Counter keys never hold an email address in clear.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _usage(request, group: str, key: str, rate: str | None, *, increment: bool) -> dict | None:
    return get_usage(
        request,
        group=group,
        key=lambda _group, _request: _digest(key),
        rate=rate or settings.AUTHSVC_RATE_LIMITS[group],
        increment=increment,
    )


def rate_limit(request, *, group: str, key: str, rate: str | None = None) -> None:
    """Count this request against `rate` (e.g. "5/h"; by default the group's setting in
    AUTHSVC_RATE_LIMITS) for `key`; RateLimited when over. `request` may be None in
    services, which count by a key they found themselves."""
    usage = _usage(request, group, key, rate, increment=True)
    if usage is not None and usage["should_limit"]:
        raise RateLimited(retry_after=usage["time_left"])


def rate_limit_ip(request, group: str) -> None:
    """`rate_limit` per client IP (REMOTE_ADDR unless proxies are trusted)."""
    rate_limit(request, group=group, key=client_ip(request) or "")


def rate_limit_peek(request, *, group: str, key: str, rate: str | None = None) -> None:
    """RateLimited if `key` has used up `rate`, without counting this request: for limits
    that count only failures (`rate_limit_count` after one)."""
    usage = _usage(request, group, key, rate, increment=False)
    if usage is not None and usage["count"] >= usage["limit"]:
        raise RateLimited(retry_after=usage["time_left"])


def rate_limit_count(request, *, group: str, key: str, rate: str | None = None) -> None:
    _usage(request, group, key, rate, increment=True)


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


def counter_incr(key: str, *, timeout: int) -> int:
    """Add one to a counter in the shared cache (created with `timeout`); returns it."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # it expired between add and incr: a new count starts
        cache.set(key, 1, timeout=timeout)
        return 1
