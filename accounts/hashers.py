"""Password hashing: argon2id with our parameters, run in a small bounded pool per process.

Every argon2 hash and verify of the process goes through `HASHING` (the hasher below calls
it, so `check_password`, `set_password`, Django's re-hash on login and the dummy hash for an
unknown email all do): at most AUTHSVC_HASHING_THREADS run at once, in threads of their own
whose CPU priority is lowered on Linux (AUTHSVC_HASHING_NICE), so the cheap requests that
gunicorn's other threads serve meanwhile (`/auth/self/`, refresh, JWKS, introspection) win
the CPU over a hash. argon2-cffi releases the GIL while it hashes.

Admission: a request that needs a hash takes one of AUTHSVC_HASHING_THREADS +
AUTHSVC_HASHING_QUEUE slots for its whole credential check, or, when they are all taken,
is refused at once with `HashingBusy` (503 `unavailable`, `Retry-After: 1`) before anything
is counted: a login storm can hold at most that many of a worker's request threads, and
the rest keep serving everything else. `password_verify` takes the slot before the lockout
counts the attempt, so a refused attempt is neither counted nor audited; a nested hash (the
re-hash after a verify) reuses the slot of its thread. See docs/performance.md.
"""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

from accounts.exceptions import HashingBusy

# OWASP Password Storage Cheat Sheet: argon2id with at least m=19 MiB, t=2, p=1.
OWASP_MIN_MEMORY_KIB = 19456
OWASP_MIN_TIME_COST = 2


def _lower_priority(nice: int) -> None:
    """The pool's thread initializer: on Linux a thread is a task of its own, and
    `setpriority(PRIO_PROCESS, <thread id>)` renices only that thread."""
    if nice and sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


class HashingPool:
    """The process's hashing threads and the admission slots in front of them."""

    def __init__(self, *, threads: int, queue: int, nice: int):
        self.threads, self.queue, self.nice = threads, queue, nice
        self._slots = threading.BoundedSemaphore(threads + queue)
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid: int | None = None
        self._local = threading.local()

    def _pool(self) -> ThreadPoolExecutor:
        # Made on first use in each process: a forked gunicorn worker has none of its
        # parent's threads.
        if self._executor is None or self._pid != os.getpid():
            with self._lock:
                if self._executor is None or self._pid != os.getpid():
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.threads,
                        thread_name_prefix="authsvc-hashing",
                        initializer=_lower_priority,
                        initargs=(self.nice,),
                    )
                    self._pid = os.getpid()
        return self._executor

    @contextmanager
    def admitted(self):
        """Hold a slot for the block (re-entrant within a thread), or raise HashingBusy."""
        if getattr(self._local, "admitted", False):
            yield
            return
        if not self._slots.acquire(blocking=False):
            raise HashingBusy()
        self._local.admitted = True
        try:
            yield
        finally:
            self._local.admitted = False
            self._slots.release()

    def run(self, function, *args):
        """`function(*args)` on a hashing thread, this thread waiting for it."""
        with self.admitted():
            return self._pool().submit(function, *args).result()


def _hashing_pool() -> HashingPool:
    return HashingPool(
        threads=settings.AUTHSVC_HASHING_THREADS,
        queue=settings.AUTHSVC_HASHING_QUEUE,
        nice=settings.AUTHSVC_HASHING_NICE,
    )


class _LazyPool:
    """`HASHING`: the process's pool, made from the settings on first use."""

    _pool: HashingPool | None = None
    _lock = threading.Lock()

    def __getattr__(self, name):
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    type(self)._pool = _hashing_pool()
        return getattr(self._pool, name)


HASHING = _LazyPool()


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Django's argon2id hasher with our parameters (see authsvc/settings/base.py), hashing
    on the process's hashing pool.

    It keeps the algorithm name `argon2`, so hashes with other parameters still verify and
    Django re-hashes them on the next successful login (`must_update`).
    """

    @property
    def time_cost(self) -> int:
        return settings.AUTHSVC_ARGON2_TIME_COST

    @property
    def memory_cost(self) -> int:
        return settings.AUTHSVC_ARGON2_MEMORY_KIB

    @property
    def parallelism(self) -> int:
        return settings.AUTHSVC_ARGON2_PARALLELISM

    def encode(self, password, salt):
        return HASHING.run(super().encode, password, salt)

    def verify(self, password, encoded):
        return HASHING.run(super().verify, password, encoded)
