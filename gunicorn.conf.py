"""gunicorn's configuration for authsvc (the Dockerfile runs `gunicorn -c gunicorn.conf.py`).

Environment: GUNICORN_BIND (default 0.0.0.0:8000), GUNICORN_WORKERS (2), GUNICORN_THREADS
(8); anything else through GUNICORN_CMD_ARGS, which gunicorn reads itself (its flags win over
this file). Checked by tests/ops/test_gunicorn.py: the file loads (`--check-config`), and a
real gunicorn started with it serves, then on SIGTERM finishes the request in flight.
"""

import os
import sys

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# The worker model (docs/performance.md#the-worker-model): threaded workers, one per core,
# each with a few request threads and its own small pool for argon2 (accounts/hashers.py,
# AUTHSVC_HASHING_THREADS, default 1, at a lowered CPU priority). Nearly all of a cheap
# request (/auth/self/, refresh, JWKS, introspection) is a wait on PostgreSQL or Redis, so
# threads overlap those waits; a login's hash runs on the pool, and at most
# AUTHSVC_HASHING_THREADS + AUTHSVC_HASHING_QUEUE (1 + 3) of a worker's threads are ever
# held by credential checks (beyond that a login answers 503 at once), so a login storm
# leaves the other threads serving everyone else. Sync workers could not: each one spends
# the whole hash inside argon2 while every other request waits for a free worker. Keep
# threads above those 4; each thread may hold one PostgreSQL connection (CONN_MAX_AGE), so
# PostgreSQL needs workers x threads connections per instance (16 by default).
# gthread, with authsvc's changes (authsvc/workers.py): routes loaded and the garbage
# collector's view of them frozen before serving, the socket handed over at a stop (below),
# and recycling by memory (further below).
worker_class = "authsvc.workers.ThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A listening socket per worker, so the kernel spreads new connections evenly over the
# workers: with one shared socket, a client opening its connections at once (the proxy's
# pool) could have all of them on one worker while another idled. authsvc.workers hands a
# stopping worker's socket over at once (its share goes to the others meanwhile); with one
# worker there is no other to hand over to, so it keeps gunicorn's shared socket, which
# queues connections while the worker restarts; nor with a Unix socket, which the kernel
# does not spread over several listeners (each worker would replace the last one's file).
reuse_port = workers > 1 and not bind.startswith("unix:")

# A request waits on PostgreSQL at most about AUTHSVC_DB_TIMEOUT_SECONDS (5) per round trip,
# then answers 503: the worker timeout stays far above that, so a partition never has
# gunicorn kill and restart workers in a loop.
timeout = 30
# On SIGTERM (a deploy, `docker compose stop`), requests in flight get this long to finish.
graceful_timeout = 20
# Idle keep-alive connections from the proxy in front.
keepalive = 5
# A slow leak in any dependency cannot grow a worker without bound: past
# GUNICORN_MAX_WORKER_MEMORY_MB (256) of resident memory, read every 256 requests, a worker
# finishes its requests and gunicorn starts another (authsvc/workers.py). A request count
# alone had to be low to catch a leak, and restarted every worker every few seconds at
# thousands of requests a second; it stays as a backstop (the jitter keeps workers from
# restarting together).
max_requests = 1_000_000
max_requests_jitter = 100_000

# Each worker imports the app itself (no preload_app): the app opens database and Redis
# connections, and may start threads, at import; forked from a master that had loaded it,
# workers would share those sockets and lose those threads. The cost is memory and a slower
# boot per worker, small at a few workers.
preload_app = False

# The request line, header count and header size limits, stated: gunicorn's defaults, which
# hold the auth cookies (a few KiB) with room to spare and refuse oversized requests with
# 400 before Django sees them. Bodies are bounded by the app (64 KiB) and the proxy (1 MB).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# The scheme and the client address come from the proxy's headers through Django
# (AUTHSVC_PROXY_SSL_HEADER, AUTHSVC_TRUSTED_PROXY_COUNT), never through gunicorn: it
# trusts forwarded headers from loopback only, whatever FORWARDED_ALLOW_IPS says.
forwarded_allow_ips = "127.0.0.1,::1"

proc_name = "authsvc"

# Heartbeat files in memory: a container's /tmp may be slow or read-only. gunicorn creates
# them with mkstemp and unlinks them at once, so a shared directory is safe.
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
accesslog = "-"
errorlog = "-"
# No control socket file (gunicorn 24+): nothing to write on a read-only filesystem.
control_socket_disable = True

# Every line JSON, the access line with the request id of the X-Request-ID response header,
# the path without its query string and the duration (authsvc/logs.py). The `gunicorn`
# script does not put the project on sys.path before reading this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from authsvc.logs import ACCESS_LOG_FORMAT, gunicorn_logconfig  # noqa: E402
from authsvc.workers import ThreadWorker, max_worker_memory_mb  # noqa: E402

# Refused here, before any worker starts, when it is not a whole number of MB or below 64.
ThreadWorker.max_memory_mb = max_worker_memory_mb(
    os.environ.get("GUNICORN_MAX_WORKER_MEMORY_MB", "256")
)

logconfig_dict = gunicorn_logconfig()
access_log_format = ACCESS_LOG_FORMAT
logger_class = "authsvc.logs.GunicornLogger"  # the access line's atoms, and only those

# --- Metrics: prometheus_client's multiprocess mode (GET /metrics, docs/operators.md) --------
# Each worker counts in its own files in PROMETHEUS_MULTIPROC_DIR and a scrape adds them all
# up, so whichever worker answers /metrics speaks for the whole instance. prometheus_client
# chooses its mode when first imported, so the variable is settled here, in the master,
# before any worker loads the application.
_METRICS_PREPARED = "AUTHSVC_METRICS_DIR_PREPARED"
# Set when this file made the directory itself, so `on_exit` removes it.
_METRICS_OWNED = "AUTHSVC_METRICS_DIR_OWNED"


def _metrics_dir_prepare() -> None:
    import glob
    import tempfile

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path and os.environ.get(_METRICS_PREPARED) == path:
        # The configuration is read again on SIGHUP, and a re-executed master (SIGUSR2)
        # inherits it: the instance goes on, and so must its counters.
        return
    if not path:
        # A private directory, in memory where there is one; removed by `on_exit`.
        parent = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # noqa: S108
        path = tempfile.mkdtemp(prefix="authsvc-metrics-", dir=parent)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        os.environ[_METRICS_OWNED] = path
    else:
        os.makedirs(path, mode=0o700, exist_ok=True)
        # A previous run's files would be counted again (and its dead workers' live gauges
        # would linger): a new instance starts from zero, as Prometheus expects of a restart.
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.remove(stale)
    os.environ[_METRICS_PREPARED] = path


_metrics_dir_prepare()


def child_exit(server, worker):
    # A dead worker's gauges of the live modes must stop counting; its counters stay (what
    # it counted happened), added up with the others'.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    import shutil

    owned = os.environ.get(_METRICS_OWNED)
    # After SIGUSR2 the new master (`reexec_pid`, while it runs) still uses the directory.
    if owned and not server.reexec_pid:
        shutil.rmtree(owned, ignore_errors=True)
