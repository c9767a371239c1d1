"""Smoke test of the embedded default `make run` gives: SQLite and the in-process store,
served by the development server and driven over real HTTP."""

import copy
import http.cookiejar
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.faults import free_port
from tests.live import environ_without_service

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev_server(tmp_path):
    env = environ_without_service()
    env.update(
        DJANGO_DEBUG="1",
        DJANGO_SETTINGS_MODULE="authsvc.settings.production",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        AUTHSVC_KEYS_DIR=str(tmp_path / "keys"),
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        # The console email backend prints here.
        stdout=(tmp_path / "stdout.txt").open("w"),
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("the development server did not start")
    yield base, tmp_path
    server.terminate()
    server.wait(timeout=10)


def refresh_cookie(jar) -> http.cookiejar.Cookie:
    return copy.copy(next(c for c in jar if c.name == "refresh_token"))


def test_embedded_default_serves_the_core_flows(dev_server):
    base, tmp_path = dev_server
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def call(method, path, body=None):
        csrf = next((c.value for c in jar if c.name == "csrftoken"), "")
        request = urllib.request.Request(
            base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
        )
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    assert call("GET", "/auth/csrf/")[0] == 200
    status, body = call(
        "POST",
        "/auth/register/",
        {"email": "smoke@example.com", "password": "correct horse battery"},
    )
    assert status == 201, body
    # The verification mail is queued and, with no worker running, printed by the server
    # itself right after the commit (AUTHSVC_MAIL_SEND_ON_COMMIT, on in debug).
    printed = (tmp_path / "stdout.txt").read_text()
    assert "Subject: Confirm your email address for authsvc" in printed
    assert "To: smoke@example.com" in printed
    assert call("GET", "/auth/self/") == (200, call("GET", "/auth/self/")[1])
    assert call("GET", "/auth/self/")[1]["email"] == "smoke@example.com"
    first = refresh_cookie(jar)
    assert call("POST", "/auth/refresh/")[0] == 200
    successor = refresh_cookie(jar)
    assert successor.value != first.value
    # The rotation (the same statements as on PostgreSQL) gives a retry the same successor.
    jar.set_cookie(first)
    assert call("POST", "/auth/refresh/")[0] == 200
    assert refresh_cookie(jar).value == successor.value
    assert call("GET", "/readyz")[1]["checks"] == {"database": "ok", "session_store": "ok"}
    assert call("POST", "/auth/logout/")[0] == 200
    assert call("GET", "/auth/self/")[0] == 401
    assert (tmp_path / "db.sqlite3").exists()
    assert list((tmp_path / "keys").glob("key-*.pem"))
