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

from tests.live import CSRF, LiveServer, database_url, environ_without_service

ROOT = Path(__file__).resolve().parents[2]


def gunicorn(*args, config: Path = ROOT / "gunicorn.conf.py", tmp_path, **env):
    environment = environ_without_service("GUNICORN_")
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

    for limit in ("12", "a lot"):
        bad_limit = gunicorn(
            "--check-config", tmp_path=tmp_path, GUNICORN_MAX_WORKER_MEMORY_MB=limit
        )
        assert bad_limit.returncode != 0
        assert "GUNICORN_MAX_WORKER_MEMORY_MB" in bad_limit.stderr + bad_limit.stdout


def configured(tmp_path, *, workers: int, **env) -> LiveServer:
    """A gunicorn of the app started with gunicorn.conf.py, its log in tmp_path."""
    return LiveServer(
        database_url=database_url(),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        keys_dir=str(tmp_path / "keys"),
        log=tmp_path / "gunicorn.log",
        gunicorn_args=("-c", "gunicorn.conf.py"),
        GUNICORN_WORKERS=str(workers),
        **env,
    )


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
    # Threaded workers around a bounded hashing pool (docs/performance.md#the-worker-model),
    # each on a listening socket of its own, handed over when it stops (authsvc/workers.py).
    assert settings["worker_class"] == "authsvc.workers.ThreadWorker"
    assert settings["reuse_port"] == "True"
    assert settings["threads"] == "8"
    assert settings["timeout"] == "30"
    assert settings["graceful_timeout"] == "20"
    assert settings["keepalive"] == "5"
    # Recycled by memory (authsvc/workers.py); the request count is a backstop.
    assert settings["max_requests"] == "1000000"
    assert settings["max_requests_jitter"] == "100000"
    assert settings["preload_app"] == "False"
    assert settings["limit_request_line"] == "4094"
    assert settings["limit_request_fields"] == "100"
    assert settings["limit_request_field_size"] == "8190"
    assert settings["forwarded_allow_ips"] == "['127.0.0.1', '::1']"
    assert settings["worker_tmp_dir"] == "/dev/shm"  # noqa: S108
    assert settings["control_socket_disable"] == "True"
    assert settings["accesslog"] == "-"
    assert settings["logger_class"] == "authsvc.logs.GunicornLogger"
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
    assert settings["reuse_port"] == "True"
    # One worker has no other to hand its socket over to: gunicorn's shared socket.
    assert resolved(tmp_path, GUNICORN_WORKERS="1")["reuse_port"] == "False"
    unix = resolved(tmp_path, GUNICORN_BIND=f"unix:{tmp_path}/authsvc.sock")
    assert unix["reuse_port"] == "False"
    assert settings["bind"] == "['127.0.0.1:9000']"
    assert settings["forwarded_allow_ips"] == "['127.0.0.1', '::1']"


def _response(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.django_db(transaction=True)
def test_sigterm_lets_the_request_in_flight_finish(tmp_path):
    server = configured(tmp_path, workers=1)
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
    server = configured(tmp_path, workers=1)

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


def _workers(master: int) -> list[int]:
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # the parent's pid
            workers.append(int(stat.parent.name))
    return sorted(workers)


def _connections(pid: int, port: int) -> int:
    """How many established connections to `port` the process holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:
            count += 1
    return count


def _healthz(port: int, *, timeout: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return _response(client)


@pytest.mark.django_db(transaction=True)
def test_connections_opened_at_once_spread_over_the_workers(tmp_path):
    # A proxy opening its pool at once: with one shared socket the first worker awake
    # could take every connection (it did in two of three runs of this test without
    # reuse_port); with a socket per worker the kernel spreads them by their hash.
    with configured(tmp_path, workers=2) as server:
        workers = _workers(server.process.pid)
        assert len(workers) == 2
        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(32)]
        for client in clients:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for client in clients:
            client.settimeout(10)
            assert client.recv(65536).startswith(b"HTTP/1.1 200")
        held = [_connections(pid, server.port) for pid in workers]
        for client in clients:
            client.close()
    # 32 connections hashed over two sockets: one side with fewer than 6 is a 1-in-9,000 draw.
    assert sum(held) == 32
    assert min(held) >= 6, held


@pytest.mark.django_db(transaction=True)
def test_a_stopping_worker_hands_its_socket_over_at_once(tmp_path):
    with configured(tmp_path, workers=2) as server:
        stopping, other = _workers(server.process.pid)
        # A connection that never sends a request keeps its worker draining for the
        # keep-alive timeout (5 s) after it is told to stop.
        idle = []
        while _connections(stopping, server.port) == 0:
            assert len(idle) < 64
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            time.sleep(0.05)
        os.kill(stopping, signal.SIGTERM)
        time.sleep(0.5)
        assert Path(f"/proc/{stopping}").exists()  # still draining
        # Meanwhile every new connection is served, at once: none waits on the stopping
        # worker's socket for it to close.
        started = time.monotonic()
        answers = [_healthz(server.port, timeout=2) for _ in range(20)]
        elapsed = time.monotonic() - started
        assert Path(f"/proc/{stopping}").exists()
        for client in idle:
            client.close()
    assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers), answers
    assert elapsed < 2
    assert other != stopping


@pytest.mark.django_db(transaction=True)
def test_a_memory_limit_below_a_workers_steady_size_is_raised_to_it(tmp_path):
    # 64 MB is under a loaded worker (about 100 MB) before any hash: taken as it is, the
    # worker would restart at every check. It takes its steady size instead, and says so.
    log = tmp_path / "gunicorn.log"
    server = configured(tmp_path, workers=1, GUNICORN_MAX_WORKER_MEMORY_MB="64")
    with server:
        [first] = _workers(server.process.pid)
        answers = [_healthz(server.port, timeout=30) for _ in range(300)]
        after = _workers(server.process.pid)

    assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)
    assert after == [first]  # past a check (256 requests), not restarted
    text = log.read_text()
    assert f"GUNICORN_MAX_WORKER_MEMORY_MB=64 is below what worker {first} holds" in text
    assert "restarting it" not in text
