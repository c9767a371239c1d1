"""What every part of `make bench` shares: paths, scale, the seeded users' password, the
port and phase length (BENCH_PORT, BENCH_SECONDS), and the service's environment."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "lua"
RESULTS = ROOT / "bench" / "results"
VAR = ROOT / "var" / "bench"
SCALES = {"1k": 1_000, "1m": 1_000_000}
PASSWORD = "bench correct horse battery"  # noqa: S105 - the seeded users' known password
CSRF = "benchCsrfSecret0123456789abcdefA"  # 32 letters and digits: a valid CSRF secret
SELF_TOKENS = 512
# Expired refresh tokens for purge_expired to delete during a refresh phase.
PURGE_ROWS = int(os.environ.get("BENCH_PURGE_ROWS", "300000"))
REFRESH_CHAINS = 8
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
# Request threads per gunicorn worker, for authsvc (gunicorn.conf.py reads GUNICORN_THREADS)
# and the peer alike; gunicorn.conf.py's default.
THREADS = int(os.environ.get("GUNICORN_THREADS", "8"))


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def bench_env(workers: int) -> dict:
    database = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/authsvc_bench"
    )
    return {
        # The Dockerfile's environment (its ENV lines), then the bench's own.
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "authsvc.settings.production",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-key-never-deployed-8c1f0e2d7b6a5c4e3d2f1a0b9c8d7e6f",
        "DATABASE_URL": database,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        "AUTHSVC_KEYS_DIR": str(VAR / "keys"),
        # Plain HTTP on loopback, no TLS terminator in front: no redirect. Cookies keep
        # Secure (the system checks insist); wrk sends them back regardless.
        "AUTHSVC_SSL_REDIRECT": "0",
        "AUTHSVC_BENCH": "1",
        # One load generator on one IP: limits it can never reach, so the limiters' own
        # cost is measured but they never answer 429.
        "AUTHSVC_RATE_REFRESH_IP": "1000000000/m",
        "AUTHSVC_RATE_REFRESH_SESSION": "1000000000/m",
        "AUTHSVC_RATE_LOGIN_FAILED_IP": "1000000000/m",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(THREADS),
    }
