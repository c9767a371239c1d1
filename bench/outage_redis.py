"""Logins and refreshes through a Redis outage: error counts and latency before, during a
10 s refused Redis, during a 10 s black-holed Redis, and after.

    .venv/bin/python bench/outage_redis.py

Starts its own redis-server and a TCP proxy in front of it (tests/faults.py), a gunicorn
of the service pointed at the proxy, on a database of its own
(OUTAGE_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/authsvc_outage), and drives
one client in a bounded loop. Not part of `make test`.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults import RedisServer, TcpProxy  # noqa: E402
from tests.live import Browser, LiveServer  # noqa: E402

DATABASE = os.environ.get(
    "OUTAGE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/authsvc_outage"
)
PASSWORD = "correct horse battery staple"  # noqa: S105 - the seeded user's
PHASE_SECONDS = float(os.environ.get("OUTAGE_PHASE_SECONDS", "5"))
OUTAGE_SECONDS = 10.0
LIMITS = {
    "AUTHSVC_RATE_LOGIN_FAILED_IP": "1000000/m",
    "AUTHSVC_RATE_REFRESH_IP": "1000000/m",
    "AUTHSVC_RATE_REFRESH_SESSION": "1000000/m",
}


def prepare(env: dict) -> None:
    name = DATABASE.rsplit("/", 1)[1]
    admin = DATABASE.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-qc", sql], check=True)  # noqa: S603, S607
    run = {**os.environ, **env}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=run, check=True)  # noqa: S603
    script = (
        "from accounts.models import User;"
        f"User.objects.create_user(email='outage@example.com', password='{PASSWORD}')"
    )
    subprocess.run([*manage, "shell", "-c", script], cwd=ROOT, env=run, check=True)  # noqa: S603


def main() -> int:
    keys = tempfile.mkdtemp(prefix="authsvc-outage-keys-")
    with RedisServer() as redis_server, TcpProxy("127.0.0.1", redis_server.port) as proxy:
        server = LiveServer(
            database_url=DATABASE,
            redis_url=f"redis://127.0.0.1:{proxy.port}/0",
            keys_dir=keys,
            **LIMITS,
        )
        prepare(
            {
                k: v
                for k, v in server.env.items()
                if k.startswith(("DJANGO_", "AUTHSVC_", "DATABASE", "REDIS"))
            }
        )
        with server:
            phases = [
                ("before", PHASE_SECONDS, proxy.restore),
                ("refused", OUTAGE_SECONDS, proxy.refuse),
                ("black-holed", OUTAGE_SECONDS, proxy.blackhole),
                ("after", PHASE_SECONDS, proxy.restore),
            ]
            results = {}
            browser = Browser()
            for name, seconds, cut in phases:
                cut()
                samples = {"login": [], "refresh": []}
                errors = {"login": 0, "refresh": 0}
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    for kind, path, body in (
                        (
                            "login",
                            "/auth/login/",
                            {"email": "outage@example.com", "password": PASSWORD},
                        ),
                        ("refresh", "/auth/refresh/", {}),
                    ):
                        started = time.monotonic()
                        status, _ = browser.call(server.base, "POST", path, body)
                        samples[kind].append((time.monotonic() - started) * 1000)
                        if status != 200:
                            errors[kind] += 1
                results[name] = (samples, errors)
    columns = ("requests", "errors", "p50 ms", "p99 ms", "max ms")
    print(f"{'phase':<12} {'kind':<8} " + " ".join(f"{c:>8}" for c in columns))
    for name, (samples, errors) in results.items():
        for kind in ("login", "refresh"):
            values = sorted(samples[kind])
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))] if values else 0
            p50 = statistics.median(values) if values else 0
            row = (len(values), errors[kind], f"{p50:.1f}", f"{p99:.1f}", f"{max(values):.1f}")
            print(f"{name:<12} {kind:<8} " + " ".join(f"{c:>8}" for c in row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
