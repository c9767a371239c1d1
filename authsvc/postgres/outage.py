"""Bounds on every PostgreSQL round trip of this process, and fail-fast while it is down.

`Watchdog`: each watched round trip records a deadline; one thread per process checks the
deadlines every `POLL_SECONDS` and shuts down the socket of a connection stuck past its
own, so psycopg raises OperationalError at once. A round trip costs a dict insert and
delete under an uncontended lock; there is no thread or timer per query.

`Breaker`: once a connection attempt fails or a round trip had to be cut, the process stops
opening connections to that server (each attempt would cost a worker the full connect
timeout) and a background thread probes it every `PROBE_INTERVAL_SECONDS`; the first
answer closes the breaker. Requests meanwhile fail at once, as `503 unavailable`.
"""

import logging
import os
import socket
import threading
import time

import psycopg

_monotonic = time.monotonic

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.1
PROBE_INTERVAL_SECONDS = 0.5


class Watch:
    __slots__ = ("deadline", "owner", "raw")

    def __init__(self, raw, deadline: float, owner):
        self.raw, self.deadline, self.owner = raw, deadline, owner


def _shutdown(raw) -> None:
    """End a psycopg connection's socket from another thread: its blocked wait wakes up
    with 'server closed the connection unexpectedly'. A duplicate descriptor is shut down
    and closed, so psycopg still owns (and later closes) the original."""
    try:
        fd = raw.pgconn.socket
    except (AttributeError, psycopg.Error):
        return
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Watchdog:
    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # A forked child (a gunicorn worker) has no watchdog thread yet.
        self._lock = threading.Lock()
        self._watches: dict[int, Watch] = {}
        self._thread: threading.Thread | None = None

    def start(self, raw, seconds: float, owner=None) -> Watch:
        watch = Watch(raw, _monotonic() + seconds, owner)
        # One dict store, atomic under the GIL: the hot path takes no lock to begin.
        self._watches[id(watch)] = watch
        if self._thread is None:
            self._start_thread()
        return watch

    def stop(self, watch: Watch) -> None:
        # Under the lock, so that once this returns the watchdog cannot cut the connection
        # (by then maybe busy with the next query) for this round trip.
        with self._lock:
            self._watches.pop(id(watch), None)

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="authsvc-db-watchdog", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(POLL_SECONDS)
            self.cut_expired(_monotonic())

    def cut_expired(self, now: float) -> list[Watch]:
        expired = []
        with self._lock:
            for key, watch in list(self._watches.items()):
                if watch.deadline > now:
                    continue
                del self._watches[key]
                expired.append(watch)
                if watch.owner is not None:
                    # Before the cut wakes the request up: its next connection attempt must
                    # already see the breaker open, not wait the whole connect timeout.
                    watch.owner.breaker.trip("a round trip was cut by the watchdog")
                _shutdown(watch.raw)
        if expired:
            logger.error("PostgreSQL did not answer in time; %d connection(s) cut", len(expired))
        return expired


WATCHDOG = Watchdog()


class Breaker:
    """Whether this process currently considers one PostgreSQL server unreachable."""

    def __init__(self, name: str):
        self.name = name
        self.open_since: float | None = None
        self._params: dict | None = None
        self._timeout = 0.0
        self._lock = threading.Lock()
        self._prober: threading.Thread | None = None

    @property
    def is_open(self) -> bool:
        return self.open_since is not None

    def remember(self, params: dict, timeout: float) -> None:
        """The parameters and round-trip bound the probe uses: the last that worked."""
        self._params, self._timeout = params, timeout

    def trip(self, reason: str, params: dict | None = None, timeout: float | None = None):
        if params is not None:
            self.remember(params, timeout)
        with self._lock:
            if self.open_since is None:
                self.open_since = time.monotonic()
                logger.error("PostgreSQL %s is unavailable (%s); failing fast", self.name, reason)
            if self._prober is None and self._params is not None:
                self._prober = threading.Thread(
                    target=self._probe_until_it_answers, name="authsvc-db-probe", daemon=True
                )
                self._prober.start()

    def close(self) -> None:
        with self._lock:
            if self.open_since is not None:
                logger.warning(
                    "PostgreSQL %s answers again after %.1f s",
                    self.name,
                    time.monotonic() - self.open_since,
                )
            self.open_since = None
            self._prober = None

    def _probe_until_it_answers(self) -> None:
        while not probe(self._params, self._timeout):
            time.sleep(PROBE_INTERVAL_SECONDS)
        self.close()

    def _reset_after_fork(self) -> None:
        self.open_since, self._prober, self._lock = None, None, threading.Lock()


def probe(params: dict, timeout: float) -> bool:
    """Whether a new connection with `params` opens and answers `SELECT 1` in time."""
    try:
        with psycopg.connect(**params) as conn:
            watch = WATCHDOG.start(conn, timeout)
            try:
                conn.execute("SELECT 1")
            finally:
                WATCHDOG.stop(watch)
    except psycopg.Error:
        return False
    return True


_breakers: dict[tuple, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(settings_dict: dict) -> Breaker:
    key = (settings_dict["HOST"], settings_dict["PORT"], settings_dict["NAME"])
    breaker = _breakers.get(key)
    if breaker is None:
        with _breakers_lock:
            breaker = _breakers.setdefault(key, Breaker("{}:{}/{}".format(*key)))
    return breaker


def _breakers_after_fork() -> None:
    for breaker in _breakers.values():
        breaker._reset_after_fork()


os.register_at_fork(after_in_child=_breakers_after_fork)
