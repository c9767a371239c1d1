"""gunicorn.conf.py, the configuration the image's gunicorn runs with: it loads with the
app, every setting it names is one gunicorn knows, and a gunicorn started with it serves and
finishes the request in flight when it is told to stop."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.live import CSRF, LiveServer, database_url

ROOT = Path(__file__).resolve().parents[2]


def gunicorn(*args, config: Path = ROOT / "gunicorn.conf.py", tmp_path, **env):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "AUTHSVC_", "REDIS_URL", "DATABASE_URL", "GUNICORN_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="authsvc.settings.production",
        DJANGO_SECRET_KEY="gunicorn-config-test-key-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
        DATABASE_URL=f"sqlite:///{tmp_path}/unused.sqlite3",
        AUTHSVC_KEYS_DIR=str(tmp_path / "keys"),
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", *args, "-c", str(config), "authsvc.wsgi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_config_loads_with_the_app(tmp_path):
    result = gunicorn("--check-config", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout


def test_check_config_fails_on_a_bad_config(tmp_path):
    # The check loads the app too: settings that refuse to start fail it.
    no_key = gunicorn("--check-config", tmp_path=tmp_path, DJANGO_SECRET_KEY="")
    assert no_key.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in no_key.stderr

    broken = tmp_path / "gunicorn.conf.py"
    broken.write_text((ROOT / "gunicorn.conf.py").read_text() + "\ntimeout = 'soon'\n")
    bad_value = gunicorn("--check-config", config=broken, tmp_path=tmp_path)
    assert bad_value.returncode != 0


def resolved(tmp_path, **env) -> dict[str, str]:
    """gunicorn's own view of the settings (`--print-config`): name -> value as printed."""
    result = gunicorn("--print-config", tmp_path=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    settings = {}
    for line in result.stdout.splitlines():
        name, separator, value = line.partition(" = ")
        if separator:
            settings[name.strip()] = value.strip()
    return settings


def test_gunicorn_takes_every_setting_the_file_names(tmp_path):
    settings = resolved(tmp_path)

    assert settings["bind"] == "['0.0.0.0:8000']"
    assert settings["workers"] == "2"
    # Threaded workers around a bounded hashing pool (docs/performance.md#the-worker-model).
    assert settings["worker_class"] == "gthread"
    assert settings["threads"] == "8"
    assert settings["timeout"] == "30"
    assert settings["graceful_timeout"] == "20"
    assert settings["keepalive"] == "5"
    assert settings["max_requests"] == "10000"
    assert settings["max_requests_jitter"] == "1000"
    assert settings["preload_app"] == "False"
    assert settings["limit_request_line"] == "4094"
    assert settings["limit_request_fields"] == "100"
    assert settings["limit_request_field_size"] == "8190"
    assert settings["forwarded_allow_ips"] == "['127.0.0.1', '::1']"
    assert settings["worker_tmp_dir"] == "/dev/shm"  # noqa: S108
    assert settings["control_socket_disable"] == "True"
    assert settings["accesslog"] == "-"
    # The worker timeout stays far above a request's database bound (5 s by default).
    assert int(settings["timeout"]) > 2 * 5


def test_the_environment_sizes_it_and_cannot_widen_trust(tmp_path):
    settings = resolved(
        tmp_path,
        GUNICORN_WORKERS="4",
        GUNICORN_THREADS="16",
        GUNICORN_BIND="127.0.0.1:9000",
        FORWARDED_ALLOW_IPS="*",
    )
    assert settings["workers"] == "4"
    assert settings["threads"] == "16"
    assert settings["bind"] == "['127.0.0.1:9000']"
    assert settings["forwarded_allow_ips"] == "['127.0.0.1', '::1']"


def _response(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.django_db(transaction=True)
def test_sigterm_lets_the_request_in_flight_finish(tmp_path):
    server = LiveServer(
        database_url=database_url(),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        keys_dir=str(tmp_path / "keys"),
        log=tmp_path / "gunicorn.log",
        gunicorn_args=("-c", "gunicorn.conf.py"),
        GUNICORN_WORKERS="1",
    )
    body = json.dumps({"email": "nobody@example.com", "password": "not the password"}).encode()
    head = (
        "POST /auth/login/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Cookie: csrftoken={CSRF}\r\n"
        f"X-CSRFToken: {CSRF}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()

    with server:
        # The request is in flight: its worker has the headers and half the body.
        client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        client.sendall(head + body[:10])
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)

        # gunicorn waits for it (graceful_timeout), answering nothing yet.
        assert server.process.poll() is None
        client.settimeout(0.2)
        with pytest.raises(TimeoutError):
            client.recv(1)
        client.settimeout(10)

        client.sendall(body[10:])
        answer = _response(client)
        client.close()
        exit_code = server.process.wait(timeout=20)

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 401 Unauthorized", answer[:300]
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"] == "invalid_credentials"
    # Then the server stops, cleanly.
    assert exit_code == 0
    log = (tmp_path / "gunicorn.log").read_text()
    assert "Handling signal: term" in log
    assert "Shutting down: Master" in log


@pytest.mark.django_db(transaction=True)
def test_each_thread_logs_its_own_requests_id(tmp_path):
    # gthread: requests of one worker run at once on its threads; the request id of a log
    # line written during a request (a contextvars variable) must be that request's.
    log = tmp_path / "gunicorn.log"
    server = LiveServer(
        database_url=database_url(),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        keys_dir=str(tmp_path / "keys"),
        log=log,
        gunicorn_args=("-c", "gunicorn.conf.py"),
        GUNICORN_WORKERS="1",
    )

    def fetch(i: int) -> tuple[str, str]:
        path = f"/no-such-page-{i}/"
        try:
            urllib.request.urlopen(server.base + path, timeout=10)
        except urllib.error.HTTPError as answer:
            with answer:  # closed at once: an open one would hold its connection
                assert answer.code == 404
                return path, answer.headers["X-Request-ID"]
        raise AssertionError(f"{path} answered 200")

    with server, ThreadPoolExecutor(max_workers=16) as pool:
        sent = dict(pool.map(fetch, range(64)))

    logged = {}
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry["logger"] == "django.request" and "no-such-page" in entry["message"]:
                logged[entry["message"].rsplit(" ", 1)[1]] = entry["request_id"]
    assert len(set(sent.values())) == 64
    assert logged == sent
