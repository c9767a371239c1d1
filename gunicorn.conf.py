"""gunicorn's configuration for authsvc (the Dockerfile runs `gunicorn -c gunicorn.conf.py`).

Environment: GUNICORN_BIND (default 0.0.0.0:8000), GUNICORN_WORKERS (2), GUNICORN_THREADS
(1); anything else through GUNICORN_CMD_ARGS, which gunicorn reads itself.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))

# A request waits on PostgreSQL at most about AUTHSVC_DB_TIMEOUT_SECONDS (5) per round trip,
# then answers 503: the worker timeout stays far above that, so a partition never has
# gunicorn kill and restart workers in a loop.
timeout = 30
# On SIGTERM (a deploy, `docker compose stop`), requests in flight get this long to finish.
graceful_timeout = 20
# Idle keep-alive connections from the proxy in front.
keepalive = 5
# Recycle each worker after about this many requests (the jitter keeps them from restarting
# together), so a slow leak in any dependency cannot grow without bound.
max_requests = 10000
max_requests_jitter = 1000

# Heartbeat files in memory: a container's /tmp may be slow or read-only.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-"
errorlog = "-"
# No control socket file (gunicorn 24+): nothing to write on a read-only filesystem.
control_socket_disable = True


# --- Metrics: prometheus_client's multiprocess mode (GET /metrics, docs/operators.md) --------
# Each worker counts in its own files in PROMETHEUS_MULTIPROC_DIR and a scrape adds them all
# up, so whichever worker answers /metrics speaks for the whole instance. prometheus_client
# chooses its mode when first imported, so the variable is settled here, in the master,
# before any worker loads the application.
_METRICS_PREPARED = "AUTHSVC_METRICS_DIR_PREPARED"


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
        os.environ["AUTHSVC_METRICS_DIR_OWNED"] = path
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

    owned = os.environ.get("AUTHSVC_METRICS_DIR_OWNED")
    # After SIGUSR2 the new master (`reexec_pid`, while it runs) still uses the directory.
    if owned and not server.reexec_pid:
        shutil.rmtree(owned, ignore_errors=True)
