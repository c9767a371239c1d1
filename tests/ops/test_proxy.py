"""deploy/Caddyfile, the TLS proxy of compose.yaml: Caddy's own validator, then a real Caddy
(Debian's package, which `make test` installs) run from that file, with only the upstream's
address and the ports moved to free ones on loopback."""

import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.faults import free_port
from tests.live import LiveServer, database_url
from tests.tools import require

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy" / "Caddyfile"


@pytest.fixture(scope="module")
def caddy() -> str:
    """Caddy, which `make test` installs (scripts/test-tools.sh). Missing, the tests are
    skipped with the reason, except in CI, where a missing install step must not pass."""
    return require("caddy", "apt-get install caddy")


def validate(caddy: str, config: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(config)],
        env={**os.environ, "HOME": str(config.parent), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


# The validator --------------------------------------------------------------------------


def test_the_caddyfile_is_valid_and_formatted(caddy, tmp_path):
    shutil.copy(CADDYFILE, tmp_path / "Caddyfile")
    result = validate(caddy, tmp_path / "Caddyfile")

    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr
    # Caddy warns about unformatted input and needless directives: none.
    assert '"level":"warn"' not in result.stderr, result.stderr


def test_the_caddyfile_is_valid_for_a_public_name(caddy, tmp_path):
    shutil.copy(CADDYFILE, tmp_path / "Caddyfile")
    result = validate(
        caddy, tmp_path / "Caddyfile", PUBLIC_HOST="auth.example.com", TLS_ISSUER="ops@example.com"
    )
    assert result.returncode == 0, result.stderr

    adapted = subprocess.run(
        [caddy, "adapt", "--adapter", "caddyfile", "--config", str(tmp_path / "Caddyfile")],
        env={**os.environ, "PUBLIC_HOST": "auth.example.com", "TLS_ISSUER": "ops@example.com"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    config = json.loads(adapted.stdout)
    policies = config["apps"]["tls"]["automation"]["policies"]
    assert {"auth.example.com"} <= {subject for p in policies for subject in p["subjects"]}
    issuers = [issuer for policy in policies for issuer in policy["issuers"]]
    assert {"module": "acme", "email": "ops@example.com"}.items() <= issuers[0].items()


def test_the_validator_refuses_a_broken_caddyfile(caddy, tmp_path):
    broken = tmp_path / "Caddyfile"
    broken.write_text(CADDYFILE.read_text().replace("reverse_proxy app:8000", "reverse_proxi app"))
    result = validate(caddy, broken)
    assert result.returncode != 0
    assert "reverse_proxi" in result.stderr


# A real Caddy from the file ---------------------------------------------------------------


class Echo(http.server.BaseHTTPRequestHandler):
    """The upstream: answers with the request's headers as JSON."""

    received: list[int] = []

    def do_GET(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            Echo.received.append(len(self.rfile.read(length)))
        body = json.dumps({key.lower(): value for key, value in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


class Caddy:
    """Caddy running deploy/Caddyfile, with the upstream and the ports moved."""

    def __init__(self, binary: str, folder: Path, upstream_port: int):
        self.https_port, self.http_port, self.health_port = free_port(), free_port(), free_port()
        text = CADDYFILE.read_text()
        for old, new in {
            "reverse_proxy app:8000": f"reverse_proxy 127.0.0.1:{upstream_port}",
            "http://127.0.0.1:8081": f"http://127.0.0.1:{self.health_port}",
            "\tadmin off\n": (
                f"\tadmin off\n\thttp_port {self.http_port}\n\thttps_port {self.https_port}\n"
            ),
        }.items():
            # Each one exactly once: a change of shape fails here, not silently.
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "Caddyfile"
        self.config.write_text(text)
        self.folder = folder
        self.binary = binary
        self.root_cert = folder / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        self.log = folder / "caddy.log"
        self.process = None

    def __enter__(self) -> "Caddy":
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [self.binary, "run", "--adapter", "caddyfile", "--config", str(self.config)],
                env={
                    **os.environ,
                    "HOME": str(self.folder),
                    "XDG_DATA_HOME": str(self.folder / "data"),
                    "XDG_CONFIG_HOME": str(self.folder / "config"),
                },
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.root_cert.exists() and self._serving():
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"caddy did not start\n{self.log.read_text()}")

    def _serving(self) -> bool:
        health = urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/", timeout=2)
        if health.read() != b"ok":
            return False
        # The certificate for localhost is issued in the background after the start.
        self.get("/")
        return True

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.root_cert))

    def get(self, path: str, *, headers=None, data=None, method="GET"):
        request = urllib.request.Request(
            f"https://localhost:{self.https_port}{path}",
            headers=headers or {},
            data=data,
            method=method,
        )
        opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self.context()), NoRedirect
        )
        try:
            response = opener.open(request, timeout=10)
            return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def echo():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_https_with_the_local_ca_and_headers_the_app_can_trust(caddy, echo, tmp_path):
    with Caddy(caddy, tmp_path, echo) as proxy:
        status, headers, body = proxy.get(
            "/auth/self/",
            headers={
                # A client's attempt to pass for another address, scheme or request.
                "X-Forwarded-For": "203.0.113.7",
                "X-Forwarded-Proto": "http",
                "X-Request-ID": "forged-id",
            },
        )

    assert status == 200
    seen = json.loads(body)
    # The one hop the app trusts is the client's real address, the scheme is Caddy's own.
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "https"
    assert seen["host"] == f"localhost:{proxy.https_port}"
    # A request id made by the proxy, never the client's.
    assert seen["x-request-id"] != "forged-id"
    assert uuid.UUID(seen["x-request-id"])
    assert "Server" not in headers


def test_a_request_waits_out_an_upstream_that_is_not_listening_yet(caddy, tmp_path):
    # Every gunicorn worker restarting at once leaves no socket on the port for a moment
    # (gunicorn.conf.py's reuse_port): Caddy tries the connection again rather than 502.
    # A GET: Debian's Caddy (2.6) retries only bodyless requests; the image's (2.11.2 and
    # later) retries a POST with its body as well.
    port = free_port()
    with Caddy(caddy, tmp_path, port) as proxy:
        answers = []
        request = threading.Thread(target=lambda: answers.append(proxy.get("/auth/self/")))
        request.start()
        time.sleep(1.0)
        assert request.is_alive()  # still waiting, not answered 502
        upstream = http.server.ThreadingHTTPServer(("127.0.0.1", port), Echo)
        threading.Thread(target=upstream.serve_forever, daemon=True).start()
        try:
            request.join(timeout=10)
        finally:
            upstream.shutdown()
            upstream.server_close()

    status, _, body = answers[0]
    assert status == 200
    assert json.loads(body)["x-forwarded-proto"] == "https"


def test_every_request_gets_its_own_id(caddy, echo, tmp_path):
    with Caddy(caddy, tmp_path, echo) as proxy:
        ids = {json.loads(proxy.get("/")[2])["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


def test_plain_http_redirects_to_https(caddy, echo, tmp_path):
    with Caddy(caddy, tmp_path, echo) as proxy:
        connection = socket.create_connection(("127.0.0.1", proxy.http_port), timeout=5)
        connection.sendall(
            b"GET /auth/self/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
        connection.close()

    status_line, _, rest = answer.decode().partition("\r\n")
    assert status_line.split()[1] in {"301", "308"}
    # In compose the HTTPS port is 443, so the redirect names none.
    assert "\r\nLocation: https://localhost/auth/self/\r\n" in f"\r\n{rest}"


def test_oversized_bodies_never_reach_the_app(caddy, echo, tmp_path):
    Echo.received.clear()
    with Caddy(caddy, tmp_path, echo) as proxy:
        small = proxy.get("/auth/login/", data=b"x" * 1000, method="POST")
        try:
            refused = proxy.get("/auth/login/", data=b"x" * (2 * 1024 * 1024), method="POST")[0]
        except (urllib.error.URLError, OSError):
            # Caddy may close the connection while the client is still sending.
            refused = "connection closed"
    assert small[0] == 200
    # 413 from current Caddy; Debian's 2.6 answers 502 once the upstream's read is cut.
    assert refused in {413, 502, "connection closed"}
    assert Echo.received[0] == 1000
    assert all(size <= 1_000_000 for size in Echo.received)


@pytest.mark.django_db(transaction=True)
def test_the_app_behind_the_proxy_sees_https(caddy, tmp_path):
    """The app with compose.yaml's proxy settings: through Caddy it serves pages; straight
    over plain HTTP it redirects, so nothing but the proxy can pass for HTTPS."""
    app = LiveServer(
        database_url=database_url(),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        keys_dir=str(tmp_path / "keys"),
        log=tmp_path / "gunicorn.log",
        gunicorn_args=("-c", "gunicorn.conf.py", "--workers", "1"),
        DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1",
        AUTHSVC_SSL_REDIRECT="1",
        AUTHSVC_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO",
        AUTHSVC_TRUSTED_PROXY_COUNT="1",
    )
    with app, Caddy(caddy, tmp_path / "caddy", app.port) as proxy:
        through = proxy.get("/api/docs/")
        ready = proxy.get("/readyz")
        direct = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirected:
            direct.open(
                urllib.request.Request(f"{app.base}/api/docs/", headers={"Host": "localhost"}),
                timeout=10,
            )

    assert through[0] == 200, through
    assert through[1]["Strict-Transport-Security"].startswith("max-age=")
    assert ready[0] == 200
    assert redirected.value.code == 301
    assert redirected.value.headers["Location"] == "https://localhost/api/docs/"
