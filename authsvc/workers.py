"""The gunicorn worker authsvc runs (gunicorn.conf.py): gunicorn's threaded worker, with
three changes: it loads every route before it serves and then hides what it loaded from the
garbage collector, with `reuse_port` it hands its listening socket over when it stops, and
it restarts itself when its memory has grown past `GUNICORN_MAX_WORKER_MEMORY_MB`.

**Loaded, then frozen.** A loaded worker holds about 124,000 objects the cyclic garbage
collector tracks (Django, DRF, the admin, every view and serializer class), and a full
collection walks them all: 38 ms on the bench's machine, during which no thread of the
worker runs. Python starts one whenever the objects that survived two collections have
grown by a quarter, so a worker serving requests paused every so often for that long, in
any request's latency. After loading the app this worker imports the URLconf (every
view module, as its first request would) and calls `gc.freeze()`: what is alive then is
never collected again (it lives as long as the worker anyway), and a full collection walks
only what came later (well under a millisecond).

**A socket per worker.** With `reuse_port` each worker listens on a socket of its own, all
bound to the same port, and the kernel spreads new connections over them by their
addresses' hash. With one shared socket, whichever worker woke first accepted: a client
opening its connections at once (a proxy's pool, a load generator) often had every one of
them on one worker, for as long as it kept them alive, while the other worker's core idled
(docs/performance.md#the-worker-model). The cost of a socket per worker is at its stop
(recycling, a reload, a deploy): the kernel keeps sending the stopping worker's share of
new connections to its socket until it is closed, and gunicorn closes it only once the last
request has drained, seconds later, resetting whatever had queued meanwhile. This worker
accepts what is already queued and closes its sockets as soon as it starts stopping, so new
connections go to the workers that still listen.

**Recycling by memory.** A slow leak in any dependency must not grow a worker without
bound. Counting requests (`max_requests`) catches one only if the count is low, and a low
count restarts every worker every few seconds at thousands of requests a second: half a
second of CPU to boot each, its first requests loading what the others have cached. So the
worker reads its resident size every `MEMORY_CHECK_EVERY` requests and, past the limit,
finishes its requests and exits (gunicorn starts another); `max_requests` stays as a
backstop far above it. A limit below what a worker holds in its steady state (its size once
loaded, plus argon2's memory cost for each hashing thread, plus some room for its request
threads) would restart it every few hundred requests: the worker raises such a limit to
that floor at start, and logs that it did.
"""

import gc
import os

from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

MEMORY_CHECK_EVERY = 256  # requests between two reads of /proc/self/statm (a few µs each)
DEFAULT_MAX_WORKER_MEMORY_MB = 256
# Below this a worker would be over the limit as soon as it has loaded the app (about
# 100 MB, 120 once argon2's buffer is in) and restart every MEMORY_CHECK_EVERY requests.
MIN_MAX_WORKER_MEMORY_MB = 64
# Room over the loaded size and the hashing buffers for the request threads' own memory
# (their stacks, PostgreSQL connections and buffers): bench.memory measures 5 to 10 MB.
REQUEST_THREADS_ROOM_MB = 32
_PAGE = os.sysconf("SC_PAGE_SIZE")


def max_worker_memory_mb(raw: str) -> int:
    """GUNICORN_MAX_WORKER_MEMORY_MB's value, checked: gunicorn.conf.py reads the variable
    and sets `ThreadWorker.max_memory_mb` with this at start, so a bad value stops gunicorn
    with its message rather than being ignored."""
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"GUNICORN_MAX_WORKER_MEMORY_MB must be a whole number of MB, not {raw!r}"
        ) from None
    if value < MIN_MAX_WORKER_MEMORY_MB:
        raise ValueError(
            f"GUNICORN_MAX_WORKER_MEMORY_MB={value} is below {MIN_MAX_WORKER_MEMORY_MB}: a "
            "worker would restart as soon as it had loaded the app"
        )
    return value


def resident_bytes() -> int | None:
    """This process's resident size, None where /proc is not there to tell."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def settle() -> None:
    """Load every route's module, then freeze what is alive (see the module's docstring)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module, as a first request
    gc.collect()
    gc.freeze()


def steady_memory_mb(loaded_bytes: int) -> int:
    """What a loaded worker holds once it has served everything: its size now, argon2's
    memory cost on each of its hashing threads, and room for its request threads."""
    from django.conf import settings

    hashing = settings.AUTHSVC_HASHING_THREADS * settings.AUTHSVC_ARGON2_MEMORY_KIB // 1024
    return loaded_bytes // (1024 * 1024) + hashing + REQUEST_THREADS_ROOM_MB


class ThreadWorker(GunicornThreadWorker):
    # Set by gunicorn.conf.py in the master before it forks the workers.
    max_memory_mb = DEFAULT_MAX_WORKER_MEMORY_MB

    def init_process(self) -> None:
        self._next_memory_check = MEMORY_CHECK_EVERY
        super().init_process()  # loads the app, then serves until the worker stops

    def load_wsgi(self) -> None:
        super().load_wsgi()
        settle()
        loaded = resident_bytes()
        if loaded is None:
            return
        floor = steady_memory_mb(loaded)
        if self.max_memory_mb < floor:
            self.log.warning(
                "GUNICORN_MAX_WORKER_MEMORY_MB=%d is below what worker %s holds once it has "
                "hashed passwords (%d MB: loaded, argon2 per hashing thread, request "
                "threads): using %d",
                self.max_memory_mb,
                self.pid,
                floor,
                floor,
            )
            self.max_memory_mb = floor

    def handle_request(self, req, conn):
        keepalive = super().handle_request(req, conn)
        if self.nr >= self._next_memory_check:
            self._next_memory_check = self.nr + MEMORY_CHECK_EVERY
            self._recycle_if_grown()
        return keepalive

    def _recycle_if_grown(self) -> None:
        resident = resident_bytes()
        if resident is None or resident <= self.max_memory_mb * 1024 * 1024 or not self.alive:
            return
        self.log.warning(
            "Worker %s holds %d MB, over GUNICORN_MAX_WORKER_MEMORY_MB=%d: restarting it "
            "after its requests",
            self.pid,
            resident // (1024 * 1024),
            self.max_memory_mb,
        )
        self.alive = False

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive and self.cfg.reuse_port and self.sockets:
            self._hand_over_listeners()

    def _hand_over_listeners(self) -> None:
        """Serve the connections already queued on this worker's sockets (each answered
        with `Connection: close`, since the worker is stopping), then close the sockets."""
        for listener in self.sockets:
            while True:
                before = self.nr_conns
                self.accept(listener)  # non-blocking; nothing more queued leaves it as it was
                if self.nr_conns == before:
                    break
            listener.close()
        self.sockets = []
