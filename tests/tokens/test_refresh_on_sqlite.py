"""The rotation tests again, on SQLite: the `make run` database runs the same rotation as
PostgreSQL (`tokens.refresh`), and must give the same answers to races, lost answers, theft
and the maximum age. A subprocess, because the database is chosen when Django starts."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "tests/tokens/test_refresh_bounds.py",
    "tests/tokens/test_refresh.py",
    "tests/tokens/test_refresh_cost.py",
]


def defined(module: str) -> int:
    source = (ROOT / module).read_text()
    return len(re.findall(r"^def test_", source, flags=re.MULTILINE))


@pytest.mark.sqlite
def test_the_rotation_tests_pass_on_sqlite(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/db.sqlite3"  # the test database is its own file

    result = subprocess.run(
        [sys.executable, "-m", "pytest", *MODULES, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # Every test ran and passed, none skipped, deselected or failed: the whole modules.
    counted = re.fullmatch(r"(\d+) passed(, \d+ warnings?)? in [\d.]+s( \([\d:]+\))?", summary)
    assert counted, summary
    assert int(counted.group(1)) >= sum(defined(module) for module in MODULES)
    assert (
        "sqlite"
        in subprocess.run(
            [sys.executable, "-c", VENDOR], cwd=ROOT, env=env, capture_output=True, text=True
        ).stdout
    )


VENDOR = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authsvc.settings.test")
import django
django.setup()
from django.db import connection
print(connection.vendor)
"""
