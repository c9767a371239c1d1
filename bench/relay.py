"""`make bench`'s relay figures: how many events per second the relay publishes, and the
latency from a login's commit to its `session.created` entry in the stream (p50/p99).

    .venv/bin/python bench/relay.py

On a database of its own (RELAY_BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/authsvc_relay_bench) and Redis db 13 (BENCH_REDIS_URL).
Throughput: RELAY_BENCH_EVENTS unsent rows seeded, then timed while one relay drains them.
Latency: gunicorn (the fast path on) and `manage.py relay_events`, as production runs them;
logins one after another while a reader blocks on XREAD and timestamps each arrival. The
start is the event's `occurred_at`, taken just before its transaction commits, so the figure
is an upper bound of commit to stream.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import Browser, LiveServer  # noqa: E402

DATABASE = os.environ.get(
    "RELAY_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/authsvc_relay_bench"
)
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
EVENTS = int(os.environ.get("RELAY_BENCH_EVENTS", "50000"))
LOGINS = int(os.environ.get("RELAY_BENCH_LOGINS", "300"))
PASSWORD = "bench correct horse battery"  # noqa: S105 - the seeded user's
STREAM = "authsvc:events"


def prepare(env: dict) -> None:
    name, admin = DATABASE.rsplit("/", 1)[1], DATABASE.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-qc", sql], check=True)  # noqa: S603, S607
    run = {**os.environ, **env}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=run, check=True)
    # This process seeds and drains; only gunicorn's fast path is measured, later.
    os.environ.update(env, AUTHSVC_EVENTS_FAST_PATH="0")
    import django

    django.setup()
    from accounts.models import User

    User.objects.create_user(email="relay@example.com", password=PASSWORD)


def throughput() -> float:
    from django.db import transaction

    from audit.outbox import outbox_append_many
    from audit.relay import stream_client
    from audit.relay_loop import RelayLoop

    for start in range(0, EVENTS, 5000):
        with transaction.atomic():
            outbox_append_many(
                "session.revoked",
                [
                    (f"user-{n}", f"sid-{n}", {"reason": "logout"})
                    for n in range(start, start + 5000)
                ],
            )
    client = stream_client()
    client.delete(STREAM)
    started = time.perf_counter()
    published = RelayLoop(client).once()  # under the advisory lock, as the relay drains
    elapsed = time.perf_counter() - started
    if published != EVENTS:
        raise RuntimeError(f"published {published} of {EVENTS}")
    return published / elapsed


def latency(server: LiveServer) -> list[float]:
    import redis

    client = redis.Redis.from_url(REDIS)
    arrivals: list[tuple[float, str, str]] = []
    done = threading.Event()

    def read() -> None:
        last = "$"
        while not done.is_set():
            for _, entries in client.xread({STREAM: last}, block=200) or []:
                for entry_id, fields in entries:
                    last = entry_id
                    arrivals.append(
                        (time.time(), fields[b"type"].decode(), fields[b"occurred_at"].decode())
                    )

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.3)
    browser = Browser()
    for _ in range(LOGINS):
        status, _ = browser.call(
            server.base,
            "POST",
            "/auth/login/",
            {"email": "relay@example.com", "password": PASSWORD},
        )
        if status != 200:
            raise RuntimeError(f"login answered {status}")
        time.sleep(0.01)
    time.sleep(1.5)
    done.set()
    reader.join(5)
    return [
        (at - datetime.fromisoformat(occurred.replace("Z", "+00:00")).timestamp()) * 1000
        for at, kind, occurred in arrivals
        if kind == "session.created"
    ]


def main() -> int:
    server = LiveServer(
        database_url=DATABASE,
        redis_url=REDIS,
        keys_dir=tempfile.mkdtemp(prefix="authsvc-relay-keys-"),
        AUTHSVC_EVENTS_FAST_PATH="1",
        AUTHSVC_RATE_LOGIN_FAILED_IP="1000000/m",
    )
    env = {
        k: v
        for k, v in server.env.items()
        if k.startswith(("DJANGO_", "AUTHSVC_", "DATABASE", "REDIS"))
    }
    prepare(env)
    rate = throughput()
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "relay_events"], cwd=ROOT, env=server.env
    )
    try:
        with server:
            samples = sorted(latency(server))
    finally:
        relay.terminate()
        relay.wait(timeout=10)
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"relay: {rate:,.0f} events/s drained ({EVENTS} events, batches of 500)")
    print(
        f"commit -> stream: {len(samples)} logins, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {samples[-1]:.1f} ms (relay_events leading, gunicorn's fast path waking it)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
