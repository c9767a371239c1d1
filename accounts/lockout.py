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
from authsvc.ratelimit import backoff_wait, counter_incr

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
    wait = backoff_wait(
        failures,
        last=values.get(_LAST.format(key)),
        now=clock.now().timestamp(),
        free=settings.AUTHSVC_LOGIN_FREE_FAILURES,
        ceiling=settings.AUTHSVC_LOGIN_MAX_DELAY_SECONDS,
    )
    return LockoutState(failures=failures, wait=wait)


def login_lockout_wait(email: str) -> int:
    """Seconds until the account of `email` may try a password again (0: now)."""
    return login_lockout(email).wait


def login_failure_count(email: str) -> int:
    """Count a wrong password for `email`; returns the failures in a row."""
    key = _key(email)
    failures = counter_incr(_COUNT.format(key), timeout=_MEMORY_SECONDS)
    cache.set(_LAST.format(key), clock.now().timestamp(), timeout=_MEMORY_SECONDS)
    return failures


def login_failures_clear(email: str) -> None:
    key = _key(email)
    cache.delete_many([_COUNT.format(key), _LAST.format(key)])


def login_locked_after(failures: int) -> bool:
    """Whether this failure is the one that starts the waiting (for the event log)."""
    return failures == settings.AUTHSVC_LOGIN_FREE_FAILURES + 1
