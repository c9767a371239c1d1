"""GET /metrics under a real gunicorn with several workers, started with gunicorn.conf.py as
the Dockerfile starts it: whichever worker answers the scrape, it counts every worker's
requests (prometheus_client's multiprocess mode)."""

import os
import signal
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.authsvc.metrics_helpers import samples, value
from tests.live import LiveServer, database_url

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 3
REQUESTS = 60


def live(tmp_path: Path, **env) -> LiveServer:
    return LiveServer(
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        keys_dir=settings.AUTHSVC_KEYS_DIR,
        log=tmp_path / "gunicorn.log",
        gunicorn_args=("-c", "gunicorn.conf.py", "--workers", str(WORKERS), "--threads", "1"),
        **env,
    )


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
        return response.status


def spread_requests(base: str) -> None:
    """REQUESTS GETs of /readyz from several threads at once, so every worker takes some."""
    failures = []

    def client(count: int) -> None:
        for _ in range(count):
            if get(f"{base}/readyz") != 200:
                failures.append(1)

    threads = [threading.Thread(target=client, args=(REQUESTS // 6,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


def readyz_count(base: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        scraped = samples(response.read().decode())
    return value(
        scraped,
        "authsvc_http_request_duration_seconds_count",
        route="readyz",
        method="GET",
        status="200",
    )


def pids(directory: Path, prefix: str) -> set[int]:
    return {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob(f"{prefix}_*.db")}


def test_one_scrape_counts_every_worker_and_a_dead_workers_counts_stay(tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    # A previous run's file: counted again (or, being garbage, failing the scrape) unless
    # the start-up removes it.
    (directory / "counter_999999.db").write_bytes(b"stale")

    with live(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(directory)) as server:
        assert not (directory / "counter_999999.db").exists()
        spread_requests(server.base)

        served = pids(directory, "histogram")
        assert len(served) >= 2, f"the requests did not spread over the workers: {served}"
        # Each scrape is answered by some worker; every one of them sees every request.
        assert [readyz_count(server.base) for _ in range(2 * WORKERS)] == [REQUESTS] * (2 * WORKERS)

        # A worker ends (recycled by max_requests, killed): what it counted stays counted,
        # and its in-progress gauge is gone with it (gunicorn.conf.py's child_exit).
        victim = min(served)
        assert victim in pids(directory, "gauge_livesum")
        os.kill(victim, signal.SIGTERM)
        _wait_until(lambda: victim not in pids(directory, "gauge_livesum"))
        assert readyz_count(server.base) == REQUESTS
        spread_requests(server.base)
        assert readyz_count(server.base) == 2 * REQUESTS


def test_without_a_directory_gunicorn_makes_a_private_one_and_removes_it(tmp_path, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    parents = [Path("/dev/shm"), Path(tempfile.gettempdir())]  # noqa: S108

    def private_dirs() -> set[Path]:
        return {path for parent in parents for path in parent.glob("authsvc-metrics-*")}

    before = private_dirs()
    with live(tmp_path) as server:
        made = private_dirs() - before
        assert len(made) == 1
        spread_requests(server.base)
        assert readyz_count(server.base) == REQUESTS
        assert any(made.pop().glob("histogram_*.db"))
    assert private_dirs() - before == set()


def _wait_until(condition, *, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.05)
