"""Account lockout: consecutive wrong passwords for one account slow its password door down.

Keyed by the normal form of the email address whether or not an account has it, so the
answers for a locked real account and a locked unknown address are the same. The count
lives in PostgreSQL (`LoginLockout`), so neither a Redis restart nor an outage resets it,
and is cleared by a right password or a password reset. While an account is locked the
password is not even checked: a right password and a wrong one get the same 429, so the
lock hides whether a guess was right.

Every attempt is counted as a failure *before* the password is hashed (a compare-and-set
on the row) and the count is cleared when the password was right. Counting after the check
would let N parallel guesses all pass a check that saw none of them.

Only the password door is slowed. Google login, the password reset email and, after a
right password, the 2FA step (which has its own throttle) stay open, so an attacker who
knows a user's address can slow that user's password logins but cannot lock them out.

    state = login_attempt_start(email)      # RateLimited(state.wait) when state.wait
    if right:  login_failures_clear(email)   # always: the attempt was counted up front
    else:      login_locked_after(state.failures)   # (for the event log)
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection

from accounts.models import LoginLockout
from authsvc import clock
from authsvc.batching import delete_in_batches
from authsvc.ratelimit import backoff_wait

# Forget a streak of failures after a day without one.
_MEMORY_MS = 24 * 3600 * 1000
_TABLE = LoginLockout._meta.db_table


def _key(email: str) -> str:
    # Rows never hold an address in clear.
    return hashlib.sha256(email.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LockoutState:
    failures: int  # wrong passwords in a row, counting this attempt when it may go ahead
    wait: int  # seconds until the next try is allowed (0: this attempt goes ahead)


def login_attempt_start(email: str) -> LockoutState:
    """Count a password attempt for `email` unless the account is locked.

    `wait` > 0: locked, nothing counted, check no password. Otherwise the attempt is already
    counted as a failure: call `login_failures_clear` when the password was right. Call it
    outside a transaction: a rollback would erase the count, and the row would stay locked
    for the caller's whole transaction."""
    if not settings.RATELIMIT_ENABLE:
        return LockoutState(failures=0, wait=0)
    key = _key(email)
    now_ms = int(clock.now().timestamp() * 1000)
    with connection.cursor() as cursor:
        while True:
            # The usual case, an address with no failures on record, is this one statement.
            cursor.execute(
                f"INSERT INTO {_TABLE} (email_digest, failures, last_attempt_ms) "  # noqa: S608
                "VALUES (%s, 1, %s) ON CONFLICT (email_digest) DO NOTHING",
                [key, now_ms],
            )
            if cursor.rowcount == 1:
                return LockoutState(failures=1, wait=0)
            cursor.execute(
                f"SELECT failures, last_attempt_ms FROM {_TABLE} WHERE email_digest = %s",  # noqa: S608
                [key],
            )
            row = cursor.fetchone()
            if row is None:
                continue  # cleared by a right password meanwhile: start a new count
            stored_failures, last_ms = row
            failures = 0 if now_ms - last_ms >= _MEMORY_MS else stored_failures
            wait = backoff_wait(
                failures,
                last=last_ms / 1000,
                now=now_ms / 1000,
                free=settings.AUTHSVC_LOGIN_FREE_FAILURES,
                ceiling=settings.AUTHSVC_LOGIN_MAX_DELAY_SECONDS,
            )
            if wait:
                return LockoutState(failures=failures, wait=wait)
            # Compare-and-set: of parallel attempts that read the same row, one wins and
            # the others read again and see its count (and so, past the free ones, a wait).
            cursor.execute(
                f"UPDATE {_TABLE} SET failures = %s, last_attempt_ms = %s "  # noqa: S608
                "WHERE email_digest = %s AND failures = %s AND last_attempt_ms = %s",
                [failures + 1, max(now_ms, last_ms), key, stored_failures, last_ms],
            )
            if cursor.rowcount == 1:
                return LockoutState(failures=failures + 1, wait=0)


def login_failures_clear(email: str) -> None:
    """A right password (or a password reset): the streak, and the attempt counted up
    front, are forgotten. In the caller's transaction: if it rolls back, so does this.
    One statement (a queryset's delete would wrap it in a transaction of its own)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_TABLE} WHERE email_digest = %s",  # noqa: S608
            [_key(email)],
        )


def login_locked_after(failures: int) -> bool:
    """Whether this failure is the one that starts the waiting (for the event log)."""
    return failures == settings.AUTHSVC_LOGIN_FREE_FAILURES + 1


def lockouts_purge(*, now: datetime, batch_size: int) -> int:
    """Delete the streaks older than a day, which count as forgotten anyway."""
    cutoff_ms = int(now.timestamp() * 1000) - _MEMORY_MS
    old = LoginLockout.objects.filter(last_attempt_ms__lt=cutoff_ms)
    return delete_in_batches(old, batch_size=batch_size)
