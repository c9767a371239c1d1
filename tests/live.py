"""A real gunicorn of the service in a subprocess, and a tiny HTTP client for it (cookies by
hand: the auth cookies are Secure and the server speaks plain HTTP on loopback)."""

import http.cookies
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.faults import free_port

ROOT = Path(__file__).resolve().parents[1]
CSRF = "c" * 32


def database_url() -> str:
    """The test database (pytest-django's), as a URL for a server in another process."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


SERVICE_VARIABLES = ("DJANGO_", "AUTHSVC_", "REDIS_URL", "DATABASE_URL")


def environ_without_service(*also: str) -> dict[str, str]:
    """This process's environment without the service's own variables (nor those starting
    with `also`): a child process started with it takes its settings from the test alone."""
    prefixes = SERVICE_VARIABLES + also
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}


def production_probe(code: str, tmp_path: Path, **env: str) -> dict:
    """Run `code` in a fresh Python with the production settings over SQLite in `tmp_path`
    (plus `env`), and return the JSON object its last line of output prints."""
    environ = environ_without_service()
    environ.update(
        DJANGO_SETTINGS_MODULE="authsvc.settings.production",
        DJANGO_SECRET_KEY="production-probe-key-0123456789abcdef0123456789abcdef0123",
        DATABASE_URL=f"sqlite:///{tmp_path}/probe.sqlite3",
        AUTHSVC_KEYS_DIR=str(tmp_path / "keys"),
        **env,
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


class LiveServer:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        database_url: str,
        redis_url: str,
        keys_dir: str,
        log: Path | None = None,
        gunicorn_args: tuple[str, ...] = ("--workers", "1", "--threads", "4"),
        **env,
    ):
        self.port = free_port()
        self.log = log
        self.gunicorn_args = gunicorn_args
        self.base = f"http://{host}:{self.port}"
        self.env = environ_without_service()
        self.env.update(
            DJANGO_SETTINGS_MODULE="authsvc.settings.production",
            DJANGO_SECRET_KEY="live-test-key-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            AUTHSVC_SSL_REDIRECT="0",
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            AUTHSVC_KEYS_DIR=keys_dir,
        )
        # Any of the above may be overridden (a browser test serves on localhost).
        self.env.update(env)
        self.process = None

    def start(self) -> "LiveServer":
        out = open(self.log, "w") if self.log else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "authsvc.wsgi",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--error-logfile",
                    "-",
                    *self.gunicorn_args,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        finally:
            if self.log:
                out.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base}/healthz", timeout=1)
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        started = self.log.read_text() if self.log else ""
        raise RuntimeError(f"gunicorn did not start\n{started}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Browser:
    """Keeps the auth cookies; sends the CSRF cookie and header the API wants."""

    def __init__(self):
        self.cookies: dict[str, str] = {"csrftoken": CSRF}

    def call(self, base: str, method: str, path: str, body=None, *, bearer: str | None = None):
        headers = {"Content-Type": "application/json", "X-CSRFToken": CSRF}
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if bearer:
            headers = {"Authorization": f"Bearer {bearer}"}
        request = urllib.request.Request(
            base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                status, raw, received = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, received = error.code, error.read(), error.headers
        for header in received.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return status, json.loads(raw or b"{}")
