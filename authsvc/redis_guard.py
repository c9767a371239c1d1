"""A per-process circuit breaker in front of Redis: a slow or unreachable Redis costs one
short timeout, then the process goes straight to PostgreSQL (or its local counters) for
`AUTHSVC_REDIS_BREAKER_SECONDS` before one caller probes Redis again.

Every Redis caller (the session store, the rate-limit counters) asks `redis_allowed()`
first and reports with `redis_failed()` / `redis_succeeded()`. The session store listens
with `on_recovery` so revocations made while Redis was away reach it before it is trusted.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from redis.exceptions import RedisError

try:
    from django_redis.exceptions import ConnectionInterrupted
except ImportError:  # pragma: no cover - django-redis is a dependency
    ConnectionInterrupted = RedisError

logger = logging.getLogger(__name__)

# What a Redis call raises when Redis is down, slow or partitioned.
REDIS_ERRORS = (RedisError, ConnectionInterrupted, OSError)


class _Breaker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tripped = False
        self.open_until = 0.0

    def allowed(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if now < self.open_until:
                return False
            if self.tripped:
                # Half-open: this caller probes; the others keep skipping Redis until it
                # reports, so a dead Redis costs one timeout per period, not one per request.
                self.open_until = now + settings.AUTHSVC_REDIS_BREAKER_SECONDS
            return True

    def failed(self) -> None:
        with self._lock:
            if not self.tripped:
                logger.warning(
                    "redis unreachable; skipping it for %ss", settings.AUTHSVC_REDIS_BREAKER_SECONDS
                )
            self.tripped = True
            self.open_until = time.monotonic() + settings.AUTHSVC_REDIS_BREAKER_SECONDS

    def succeeded(self) -> bool:
        """Close the breaker; True if it was open (Redis just came back)."""
        with self._lock:
            recovered, self.tripped, self.open_until = self.tripped, False, 0.0
        return recovered

    def reset(self) -> None:
        with self._lock:
            self.tripped, self.open_until = False, 0.0


_breaker = _Breaker()
_recovery_hooks: list[Callable[[], None]] = []


def redis_allowed() -> bool:
    """False while the breaker is open: skip Redis and use the fallback at once."""
    return _breaker.allowed()


def redis_failed() -> None:
    _breaker.failed()


def redis_succeeded() -> None:
    if _breaker.succeeded():
        logger.warning("redis reachable again")
        for hook in _recovery_hooks:
            hook()


def on_recovery(hook: Callable[[], None]) -> None:
    if hook not in _recovery_hooks:
        _recovery_hooks.append(hook)


def breaker_reset() -> None:
    """Forget past failures (tests that swap the Redis server)."""
    _breaker.reset()
