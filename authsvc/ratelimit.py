"""Rate limits: django-ratelimit's fixed-window counters in the shared cache (Redis in
production), so every worker counts together.

They live in the `ratelimit` cache (`RATELIMIT_USE_CACHE`), `authsvc.cache.FailoverCache`:
while Redis is unreachable (authsvc/redis_guard.py: a short timeout, then the breaker) each
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
import time
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import caches
from django_ratelimit.core import (
    ALL,
    EXPIRATION_FUDGE,
    _get_window,
    _make_cache_key,
    _split_rate,
    get_usage,
)

from authsvc import metrics
from authsvc.errors import ServiceError
from authsvc.http import client_ip

# The groups of the limits that are not django-ratelimit counters: the per-account password
# lockout (accounts/lockout.py) and the per-account 2FA code throttle (accounts/mfa/codes.py).
ACCOUNT_LOCKOUT = "account_lockout"
MFA_CODE_THROTTLE = "mfa_code"


class RateLimited(ServiceError):
    """Over a limit; `group` names which (a key of AUTHSVC_RATE_LIMITS, or one of the two
    per-account throttles above). Every refusal is made here, so this is where it is counted
    (the `authsvc_rate_limited_total` metric)."""

    code = "rate_limited"
    kind = "rate_limited"

    def __init__(self, retry_after: int, *, group: str):
        super().__init__()
        self.retry_after = max(1, int(retry_after))
        self.group = group
        metrics.rate_limited(group)


def _digest(value: str) -> str:
    # Counter keys never hold an email address in clear.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _rate(group: str, rate: str | None) -> str:
    return rate or settings.AUTHSVC_RATE_LIMITS[group]


def rate_limit(request, *, group: str, key: str, rate: str | None = None) -> None:
    """Count this request against `rate` (e.g. "5/h"; by default the group's setting in
    AUTHSVC_RATE_LIMITS) for `key`; RateLimited when over. `request` may be None in
    services, which count by a key they found themselves."""
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if settings.RATELIMIT_ENABLE and hasattr(cache, "count"):
        # django-ratelimit's `get_usage` with `increment=True` (its keys, windows and
        # refusal), counted in one Redis round trip instead of its `add` then `incr`.
        counter, limit, period, window = _counter(group, key, rate)
        count = cache.count(counter, period + EXPIRATION_FUDGE)
        if count is None:  # not counted: refused, as django-ratelimit does (never fail open)
            raise RateLimited(retry_after=1, group=group)
        if count > limit:
            raise RateLimited(retry_after=window - int(time.time()), group=group)
        return
    usage = get_usage(
        request,
        group=group,
        key=lambda _group, _request: _digest(key),
        rate=_rate(group, rate),
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        raise RateLimited(retry_after=usage["time_left"], group=group)


def _counter(group: str, key: str, rate: str | None) -> tuple[str, int, int, int]:
    """django-ratelimit's counter for `key` in `group` (its cache key, as its `get_usage`
    names it), the limit, the period and the end of the current window."""
    rate = _rate(group, rate)
    limit, period = _split_rate(rate)
    value = _digest(key)
    window = _get_window(value, period)
    return _make_cache_key(group, window, rate, value, ALL), limit, period, window


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
    # django-ratelimit has no "give back": its own key functions name the counter it counted.
    counter = _counter(group, key, rate)[0]
    # ValueError: the window ended meanwhile, nothing to give back.
    with contextlib.suppress(ValueError):
        caches[settings.RATELIMIT_USE_CACHE].decr(counter)


@contextlib.contextmanager
def failures_limited(
    request, *, group: str, key: str, failures: tuple[type[BaseException], ...]
) -> Iterator[None]:
    """Limit only the attempts that fail with one of `failures` (wrong passwords, wrong
    codes): every attempt is reserved before it is made and refunded unless it failed so.
    A shared office IP must not be locked out by its own good logins, and parallel guesses
    cannot all slip under the limit. Every door (API view, page) wraps its check in this."""
    rate_limit_reserve(request, group=group, key=key)
    try:
        yield
    except failures:
        raise
    except BaseException:
        rate_limit_refund(request, group=group, key=key)
        raise
    rate_limit_refund(request, group=group, key=key)


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
