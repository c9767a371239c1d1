"""gunicorn's configuration for authsvc (the Dockerfile runs `gunicorn -c gunicorn.conf.py`).

Environment: GUNICORN_BIND (default 0.0.0.0:8000), GUNICORN_WORKERS (2), GUNICORN_THREADS
(1); anything else through GUNICORN_CMD_ARGS, which gunicorn reads itself.
"""

import os
import sys

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
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's own
accesslog = "-"
errorlog = "-"
# No control socket file (gunicorn 24+): nothing to write on a read-only filesystem.
control_socket_disable = True

# Every line JSON, the access line with the request id of the X-Request-ID response header,
# the path without its query string and the duration (authsvc/logs.py). The `gunicorn`
# script does not put the project on sys.path before reading this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from authsvc.logs import ACCESS_LOG_FORMAT, gunicorn_logconfig  # noqa: E402

logconfig_dict = gunicorn_logconfig()
access_log_format = ACCESS_LOG_FORMAT
