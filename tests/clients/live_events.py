"""What the whole-loop tests run beside tests/live.py's LiveServer: authsvc's relay
(`manage.py relay_events`) as its own process on the same settings, and a proxy in front of
authsvc that counts every request a downstream service makes to it."""

import contextlib
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis
from django.conf import settings

from tests.live import ROOT, LiveServer, database_url


class Relay:
    """`manage.py relay_events` with the LiveServer's environment (and its stream)."""

    def __init__(self, server: LiveServer, log):
        self.env = {**server.env, "AUTHSVC_EVENTS_RELAY_POLL_MS": "100"}
        self.log = log
        self.process = None

    def __enter__(self) -> "Relay":
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "relay_events"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while "relay started" not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the relay did not start\n{self.log.read_text()}")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class CountingProxy:
    """Forwards every request to `upstream` and counts them by path (`calls`)."""

    def __init__(self, upstream: str):
        self.calls: dict[str, int] = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                path = self.path.split("?")[0]
                proxy.calls[path] = proxy.calls.get(path, 0) + 1
                length = int(self.headers.get("Content-Length", 0))
                request = urllib.request.Request(
                    upstream + self.path,
                    method=self.command,
                    data=self.rfile.read(length) if length else None,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        status, headers, body = answer.status, answer.headers, answer.read()
                except urllib.error.HTTPError as error:
                    status, headers, body = error.code, error.headers, error.read()
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "CountingProxy":
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for_entry(redis_client: redis.Redis, stream: str, kind: str, within: float = 5.0):
    """The fields of the first entry of type `kind` in `stream`, waiting for it."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for _id, fields in redis_client.xrange(stream):
            fields = {k.decode(): v.decode() for k, v in fields.items()}
            if fields["type"] == kind:
                return fields
        time.sleep(0.05)
    raise AssertionError(f"no {kind} entry in {stream} within {within} s")


@contextlib.contextmanager
def event_stream(prefix: str):
    """A Redis Stream of its own for one test: (client, name), deleted afterwards."""
    name = f"authsvc:events:{prefix}:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        yield client, name
    finally:
        client.delete(name)
        client.close()


def publishing_server(stream_name: str, tmp_path) -> LiveServer:
    """gunicorn on the test database, publishing to `stream_name` (start it, and a Relay)."""
    return LiveServer(
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        keys_dir=str(tmp_path / "keys"),
        log=tmp_path / "gunicorn.log",
        AUTHSVC_RATE_LIMITS_ENABLED="0",
        AUTHSVC_EVENTS_STREAM=stream_name,
    )
