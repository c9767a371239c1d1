"""authsvc/workers.py, the gunicorn worker: it loads every route before it serves, then
hides what it loaded from the garbage collector, so a full collection no longer walks the
app (`settle`); past its memory limit it stops taking requests (gunicorn then starts
another, as after `max_requests`), below it it carries on. Its socket hand-over and the
recycling end to end are tests/ops/test_gunicorn.py's."""

import pytest

from authsvc import workers
from authsvc.workers import ThreadWorker, max_worker_memory_mb, steady_memory_mb
from tests.live import production_probe

PROBE = """
import gc, json, sys
from authsvc.wsgi import application  # what gunicorn's load_wsgi loads
before = "accounts.views.auth" in sys.modules
from authsvc.workers import settle

settle()
frozen = gc.get_freeze_count()
gc.collect()
print(json.dumps({
    "views_before": before,
    "views_after": "accounts.views.auth" in sys.modules,
    "frozen": frozen,
    "still_tracked": len(gc.get_objects()),
}))
"""


def test_settle_loads_the_routes_then_freezes_what_is_alive(tmp_path):
    probe = production_probe(PROBE, tmp_path)

    # The views load with the URLconf, as the first request would load them.
    assert not probe["views_before"]
    assert probe["views_after"]
    # Everything the loaded app holds is out of the collector's sight: what is left to
    # walk is a small fraction of it.
    assert probe["frozen"] > 50_000
    assert probe["still_tracked"] < probe["frozen"] / 20


class Log:
    def __init__(self):
        self.warnings = []

    def warning(self, message, *args):
        self.warnings.append(message % args)


def worker(limit_mb: int) -> ThreadWorker:
    # The recycling needs only these of gunicorn's worker (its __init__ wants a whole arbiter).
    w = ThreadWorker.__new__(ThreadWorker)
    w.alive, w.pid, w.log, w.max_memory_mb = True, 4242, Log(), limit_mb
    return w


def test_a_worker_over_its_limit_stops_taking_requests(monkeypatch):
    monkeypatch.setattr(workers, "resident_bytes", lambda: 300 * 1024 * 1024)
    w = worker(256)

    w._recycle_if_grown()

    assert w.alive is False
    assert w.log.warnings == [
        "Worker 4242 holds 300 MB, over GUNICORN_MAX_WORKER_MEMORY_MB=256: restarting it "
        "after its requests"
    ]


def test_a_worker_within_its_limit_carries_on(monkeypatch):
    monkeypatch.setattr(workers, "resident_bytes", lambda: 200 * 1024 * 1024)
    w = worker(256)

    w._recycle_if_grown()

    assert w.alive is True
    assert w.log.warnings == []


def test_without_proc_nothing_is_recycled(monkeypatch):
    monkeypatch.setattr(workers, "resident_bytes", lambda: None)
    w = worker(64)

    w._recycle_if_grown()

    assert w.alive is True


def test_the_steady_size_counts_argon2_on_each_hashing_thread(settings):
    settings.AUTHSVC_HASHING_THREADS = 2
    settings.AUTHSVC_ARGON2_MEMORY_KIB = 19456  # 19 MiB

    assert steady_memory_mb(100 * 1024 * 1024) == 100 + 2 * 19 + 32


@pytest.mark.parametrize("raw", ["63", "-1", "lots", "1.5", ""])
def test_a_bad_limit_is_refused(raw):
    with pytest.raises(ValueError, match="GUNICORN_MAX_WORKER_MEMORY_MB"):
        max_worker_memory_mb(raw)


def test_a_limit_is_a_whole_number_of_mb_from_64():
    assert max_worker_memory_mb("64") == 64
    assert max_worker_memory_mb("512") == 512
    assert ThreadWorker.max_memory_mb == 256  # unless gunicorn.conf.py set another


def test_resident_bytes_reads_this_process():
    assert workers.resident_bytes() > 10 * 1024 * 1024
