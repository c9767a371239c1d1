"""Account lockout: consecutive wrong passwords for one account slow its password door down.

Keyed by the normal form of the email address whether or not an account has it, so the
answers for a locked real account and a locked unknown address are the same. The count
lives in the shared cache (Redis in production) and is cleared by a right password or a
password reset. While an account is locked the password is not even checked: a right
password and a wrong one get the same 429, so the lock hides whether a guess was right.

Only the password door is slowed. Google login, the password reset email and, after a
right password, the 2FA step (which has its own throttle) stay open, so an attacker who
knows a user's address can slow that user's password logins but cannot lock them out.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from authsvc import clock
from authsvc.ratelimit import backoff_delay

_COUNT = "authsvc:lockout:n:{}"
_LAST = "authsvc:lockout:t:{}"
# Forget a streak of failures after a day without one.
_MEMORY_SECONDS = 24 * 3600


def _key(email: str) -> str:
    # Cache keys never hold an address in clear.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class LockoutState:
    failures: int  # wrong passwords in a row
    wait: int  # seconds until the next try is allowed (0: now)


def login_lockout(email: str) -> LockoutState:
    """Where the account of `email` stands: one cache round trip."""
    if not settings.RATELIMIT_ENABLE:
        return LockoutState(failures=0, wait=0)
    key = _key(email)
    values = cache.get_many([_COUNT.format(key), _LAST.format(key)])
    failures = int(values.get(_COUNT.format(key)) or 0)
    last = values.get(_LAST.format(key))
    delay = backoff_delay(
        failures,
        free=settings.AUTHSVC_LOGIN_FREE_FAILURES,
        ceiling=settings.AUTHSVC_LOGIN_MAX_DELAY_SECONDS,
    )
    if not delay or last is None:
        return LockoutState(failures=failures, wait=0)
    return LockoutState(
        failures=failures, wait=max(0, int(last + delay - clock.now().timestamp() + 0.999))
    )


def login_lockout_wait(email: str) -> int:
    """Seconds until the account of `email` may try a password again (0: now)."""
    return login_lockout(email).wait


def login_failure_count(email: str) -> int:
    """Count a wrong password for `email`; returns the failures in a row."""
    key = _key(email)
    cache.add(_COUNT.format(key), 0, timeout=_MEMORY_SECONDS)
    try:
        failures = cache.incr(_COUNT.format(key))
    except ValueError:  # expired between add and incr
        cache.set(_COUNT.format(key), 1, timeout=_MEMORY_SECONDS)
        failures = 1
    cache.set(_LAST.format(key), clock.now().timestamp(), timeout=_MEMORY_SECONDS)
    return failures


def login_failures_clear(email: str) -> None:
    key = _key(email)
    cache.delete_many([_COUNT.format(key), _LAST.format(key)])


def login_locked_after(failures: int) -> bool:
    """Whether this failure is the one that starts the waiting (for the event log)."""
    return failures == settings.AUTHSVC_LOGIN_FREE_FAILURES + 1
