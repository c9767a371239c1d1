"""Time-to-answer while PostgreSQL is partitioned, then down, then back.

    .venv/bin/python bench/outage_pg.py [--clients 8] [--db-timeout 5] [--phase-seconds 10]

gunicorn (2 workers, the production settings) reaches a fresh database through the TCP
proxy of tests/faults.py; client threads loop over login, refresh, GET /auth/self/ and
/readyz, one request at a time each. PostgreSQL is black-holed (a partition), then refused
(a server that is down), then restored; the table gives, per phase, the statuses and the
latency p50 / p99 / max, and how long the service took to answer 200 again. Never part of
`make test`. Needs the local PostgreSQL and Redis of `make test` (BENCH_DATABASE_URL,
BENCH_REDIS_URL to choose others).
"""

import argparse
import http.cookiejar
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults import TcpProxy, free_port  # noqa: E402

DATABASE = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/authsvc_outage_bench"
)
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
PASSWORD = "correct horse battery staple"  # noqa: S105 - a benchmark account's
OPERATIONS = ("login", "refresh", "self", "readyz")


def recreate_database() -> None:
    parsed = urlparse(DATABASE)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Client:
    def __init__(self, base: str, email: str):
        self.base, self.email = base, email
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        csrf = next((c.value for c in self.jar if c.name == "csrftoken"), "")
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
        )
        try:
            with self.opener.open(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw or b"{}")
            except ValueError:
                return error.code, {"raw": raw[:100].decode(errors="replace")}
        except OSError as error:
            return 0, {"error": f"{type(error).__name__}"}

    def operation(self, name: str) -> tuple[int, dict]:
        if name == "login":
            return self.call("POST", "/auth/login/", {"email": self.email, "password": PASSWORD})
        if name == "refresh":
            return self.call("POST", "/auth/refresh/")
        if name == "self":
            return self.call("GET", "/auth/self/")
        return self.call("GET", "/readyz")


class Recorder:
    def __init__(self):
        self.phase = "warm-up"
        self.rows: list[tuple[str, str, int, str, float, float]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def record(self, phase, operation, status, body, started, seconds) -> None:
        with self.lock:
            row = (phase, operation, status, str(body.get("error", "")), seconds, started)
            self.rows.append(row)


def client_loop(client: Client, recorder: Recorder, offset: int) -> None:
    i = offset
    while not recorder.stop.is_set():
        operation = OPERATIONS[i % len(OPERATIONS)]
        i += 1
        phase = recorder.phase
        started = time.monotonic()
        status, body = client.operation(operation)
        recorder.record(phase, operation, status, body, started, time.monotonic() - started)
        if status == 401:  # a refresh that rotated away under a racing login: log in again
            client.operation("login")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(recorder: Recorder, phases: list[str]) -> None:
    by_phase = defaultdict(list)
    for row in recorder.rows:
        by_phase[row[0]].append(row)
    print(
        f"\n{'phase':<10} {'op':<8} {'n':>5}  {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses"
    )
    for phase in phases:
        rows = by_phase.get(phase, [])
        for operation in (*OPERATIONS, "all"):
            picked = [r for r in rows if operation in ("all", r[1])]
            if not picked:
                continue
            seconds = [r[4] * 1000 for r in picked]
            statuses = Counter(f"{r[2]}{' ' + r[3] if r[3] else ''}" for r in picked)
            print(
                f"{phase:<10} {operation:<8} {len(picked):>5}  {statistics.median(seconds):>8.1f}"
                f" {percentile(seconds, 0.99):>8.1f} {max(seconds):>8.1f}  "
                + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db-timeout", type=int, default=5)
    parser.add_argument("--phase-seconds", type=float, default=10)
    args = parser.parse_args()

    recreate_database()
    parsed = urlparse(DATABASE)
    keys = tempfile.mkdtemp(prefix="authsvc-outage-keys-")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "AUTHSVC_", "REDIS_URL", "DATABASE_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="authsvc.settings.production",
        DJANGO_SECRET_KEY="outage-bench-only-" + "k" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=DATABASE,
        REDIS_URL=REDIS,
        AUTHSVC_DB_TIMEOUT_SECONDS=str(args.db_timeout),
        AUTHSVC_KEYS_DIR=keys,
        AUTHSVC_COOKIE_SECURE="0",
        AUTHSVC_SSL_REDIRECT="0",
        AUTHSVC_RATE_LIMITS_ENABLED="0",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0", "--skip-checks"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    import redis

    redis.Redis.from_url(REDIS).flushdb()

    port = free_port()
    with TcpProxy(parsed.hostname or "127.0.0.1", parsed.port or 5432) as proxy:
        env["DATABASE_URL"] = parsed._replace(
            netloc=f"{parsed.username or 'postgres'}@127.0.0.1:{proxy.port}"
        ).geturl()
        (ROOT / "var").mkdir(exist_ok=True)
        log = open(ROOT / "var" / "outage_pg.log", "w")  # noqa: SIM115
        gunicorn = subprocess.Popen(  # noqa: S603 - our own gunicorn, the Dockerfile's flags
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "authsvc.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--timeout",
                "30",
                "--graceful-timeout",
                "20",
                "--error-logfile",
                "-",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"{base}/readyz", timeout=2)  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.2)
            clients = []
            for i in range(args.clients):
                client = Client(base, f"outage{i}@example.com")
                client.call("GET", "/auth/csrf/")
                status, body = client.call(
                    "POST", "/auth/register/", {"email": client.email, "password": PASSWORD}
                )
                if status != 201:
                    raise RuntimeError(f"registration failed: {status} {body}")
                clients.append(client)

            recorder = Recorder()
            threads = [
                threading.Thread(target=client_loop, args=(c, recorder, i), daemon=True)
                for i, c in enumerate(clients)
            ]
            for thread in threads:
                thread.start()
            phases = ["warm-up", "blackhole", "refuse", "restored"]
            timeline = [
                ("warm-up", None),
                ("blackhole", proxy.blackhole),
                ("refuse", proxy.refuse),
                ("restored", proxy.restore),
            ]
            marks = {}
            for phase, action in timeline:
                if action is not None:
                    action()
                recorder.phase = phase
                marks[phase] = time.monotonic()
                print(f"{time.strftime('%H:%M:%S')} {phase}", flush=True)
                time.sleep(args.phase_seconds)
            recorder.stop.set()
            for thread in threads:
                thread.join(timeout=150)
        finally:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
            log.close()

    report(recorder, phases)
    restored = marks["restored"]
    failed_after = [
        r[5] + r[4] - restored
        for r in recorder.rows
        if r[0] == "restored" and r[1] in ("login", "refresh") and r[2] != 200
    ]
    print(
        "\nlast login/refresh that failed after the restore answered "
        f"{max(failed_after, default=0):.2f} s after it"
    )
    log_text = (ROOT / "var" / "outage_pg.log").read_text()
    print(f"workers killed by gunicorn: {log_text.count('WORKER TIMEOUT')}")
    others = Counter(r[2] for r in recorder.rows if (r[2] >= 500 and r[2] != 503) or r[2] == 0)
    print(f"answers that were 500s or no answer at all: {dict(others) or 0}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
