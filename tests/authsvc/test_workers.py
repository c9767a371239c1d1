"""authsvc/workers.py's `settle`: a worker loads every route before it serves, then hides
what it loaded from the garbage collector, so a full collection no longer walks the app."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

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
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "AUTHSVC_", "REDIS_URL", "DATABASE_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="authsvc.settings.production",
        DJANGO_SECRET_KEY="workers-test-key-0123456789abcdef0123456789abcdef01234567",
        DATABASE_URL=f"sqlite:///{tmp_path}/probe.sqlite3",
        AUTHSVC_KEYS_DIR=str(tmp_path / "keys"),
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    # The views load with the URLconf, as the first request would load them.
    assert not probe["views_before"]
    assert probe["views_after"]
    # Everything the loaded app holds is out of the collector's sight: what is left to
    # walk is a small fraction of it.
    assert probe["frozen"] > 50_000
    assert probe["still_tracked"] < probe["frozen"] / 20
