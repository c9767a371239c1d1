"""The system tools some tests drive (nginx, Caddy, hadolint, Chromium, redis-server,
PgBouncer), which `make test` installs (scripts/test-tools.sh)."""

import os
import shutil

import pytest


def require(binary: str, package: str, *, path: str | None = None) -> str:
    """The binary's path (searched in `path`, then PATH, then /usr/sbin and /usr/bin).
    Missing, the test is skipped with the reason, except in CI (CI=true), where a missing
    install step must not pass."""
    found = (
        (path and shutil.which(binary, path=path))
        or shutil.which(binary)
        or next(
            (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if os.access(p, os.X_OK)),
            None,
        )
    )
    if found:
        return found
    reason = f"{binary} is not installed ({package}; scripts/test-tools.sh installs it as root)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
