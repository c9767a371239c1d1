"""examples/gateway/ for real: Debian's nginx with the example's configuration, in front of a
live authsvc (gunicorn, the test database) and the example's echoing upstream."""

import http.client
import http.cookies
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.faults import free_port
from tests.live import CSRF, LiveServer
from tests.tokens.conftest import token_parts
from tests.tools import require

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "gateway"
PASSWORD = "a long gateway password 7"

pytestmark = pytest.mark.django_db(transaction=True)


def nginx_binary() -> str:
    """nginx, which `make test` installs (scripts/test-tools.sh). Missing, the test is
    skipped with the reason, except in CI, where a missing install step must not pass."""
    return require("nginx", "apt-get install nginx", path="/usr/sbin:/usr/local/sbin")


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()}")
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}:\n{log.read_text()}")


def render(config: str, *, listen: int, authsvc: int, app: int) -> str:
    replacements = {
        "listen 127.0.0.1:8080;": f"listen 127.0.0.1:{listen};",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{authsvc};",
        "server 127.0.0.1:9000;": f"server 127.0.0.1:{app};",
    }
    for old, new in replacements.items():
        assert config.count(old) == 1, old
        config = config.replace(old, new)
    return config


class Process:
    def __init__(self, args: list[str], log: Path):
        self.log = log
        with open(log, "w") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def gateway(tmp_path):
    nginx = nginx_binary()
    db = settings.DATABASES["default"]
    live = LiveServer(
        database_url=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        redis_url=settings.REDIS_URL,
        keys_dir=settings.AUTHSVC_KEYS_DIR,
        log=tmp_path / "gunicorn.log",
        AUTHSVC_RATE_LIMITS_ENABLED="0",
    )
    app_port, listen = free_port(), free_port()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    started = []
    try:
        live.start()
        app = Process(
            [sys.executable, str(EXAMPLE / "upstream.py"), "--port", str(app_port)],
            tmp_path / "upstream.log",
        )
        started.append(app)
        wait_for_port(app_port, app.process, app.log)
        config = (EXAMPLE / "nginx.conf").read_text()
        conf.write_text(render(config, listen=listen, authsvc=live.port, app=app_port))
        server = Process(
            [nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr"], tmp_path / "nginx.log"
        )
        started.append(server)
        wait_for_port(listen, server.process, server.log)
        yield Client(listen)
    finally:
        for process in reversed(started):
            process.stop()
        live.stop()


class Client:
    """Raw HTTP to the gateway: exactly the headers given, repeated ones included."""

    def __init__(self, port: int):
        self.port = port
        self.cookies = {"csrftoken": CSRF}

    def call(self, method, path, *, headers=(), body=None, cookies=True, csrf=False):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        connection.putrequest(method, path)
        sent = list(headers)
        if cookies:
            sent.append(("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items())))
        if csrf:
            sent.append(("X-CSRFToken", CSRF))
        if body is not None:
            body = body if isinstance(body, bytes) else json.dumps(body).encode()
            if not any(name.lower() == "content-type" for name, _ in sent):
                sent.append(("Content-Type", "application/json"))
            sent.append(("Content-Length", str(len(body))))
        for name, value in sent:
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        raw = response.read()
        connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response.status, response.headers, json.loads(raw) if raw else None


def upstream_saw(body) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, value in body["headers"]:
        seen.setdefault(name.lower(), []).append(value)
    return seen


def test_nginx_lets_only_authenticated_requests_through_and_names_the_user(gateway):
    status, headers, body = gateway.call("GET", "/hello", cookies=False)
    assert (status, body["error"]) == (401, "not_authenticated"), body
    assert headers["WWW-Authenticate"] == 'Bearer realm="authsvc"'
    forged = [("X-Auth-User", "00000000-0000-0000-0000-000000000000")]
    status, _, body = gateway.call("GET", "/hello", headers=forged, cookies=False)
    assert (status, body["error"]) == (401, "not_authenticated"), body

    new = {"email": "gateway@example.com", "password": PASSWORD, "name": "Gate"}
    status, _, body = gateway.call("POST", "/auth/register/", body=new, csrf=True)
    assert status == 201, body
    access = gateway.cookies["access_token"]
    claims = token_parts(access)[1]

    forged += [("X-Auth-User", "someone-else"), ("X-Auth-Roles", "admin")]
    forged += [("X-Auth-Email", "boss@example.com"), ("X-Auth-Session", "x")]
    status, _, body = gateway.call("GET", "/hello?x=1", headers=forged)
    assert status == 200, body
    assert (body["method"], body["path"]) == ("GET", "/hello?x=1")
    assert upstream_saw(body) == {
        "x-auth-user": [claims["sub"]],
        "x-auth-session": [claims["sid"]],
        "x-auth-roles": [",".join(claims["roles"])],
        "x-auth-email": ["gateway@example.com"],
    }

    # A write through the gateway: the cookie alone could be a hostile page's.
    status, _, body = gateway.call("POST", "/hello", body={"a": 1})
    assert (status, body["error"]) == (403, "csrf_failed"), body
    forged_method = [("X-Forwarded-Method", "GET")]
    status, _, body = gateway.call("DELETE", "/hello", headers=forged_method)
    assert (status, body["error"]) == (403, "csrf_failed"), body
    status, _, body = gateway.call("POST", "/hello", body={"a": 1}, csrf=True)
    assert (status, body["method"]) == (200, "POST"), body
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    status, _, body = gateway.call("PUT", "/hello", headers=form, body=b"a=1", csrf=True)
    assert (status, body["method"]) == (200, "PUT"), body
    bearer = [("Authorization", f"Bearer {access}")]
    status, _, body = gateway.call("POST", "/hello", headers=bearer, body={}, cookies=False)
    assert (status, upstream_saw(body)["x-auth-user"]) == (200, [claims["sub"]]), body

    status, _, body = gateway.call("POST", "/auth/logout/", csrf=True)
    assert status == 200, body
    assert "access_token" not in gateway.cookies
    gateway.cookies["access_token"] = access
    status, _, body = gateway.call("GET", "/hello")
    assert (status, body["error"]) == (401, "invalid_token"), body
    status, _, body = gateway.call("GET", "/hello", headers=bearer, cookies=False)
    assert (status, body["error"]) == (401, "invalid_token"), body
