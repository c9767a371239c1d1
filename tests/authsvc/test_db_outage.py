"""PostgreSQL outages, over real HTTP: gunicorn with the production settings, its database
reached through a TCP proxy the test refuses (a server that is down) or black-holes (a
partition: connections open, bytes go nowhere). The service must answer `503 unavailable`
with Retry-After within AUTHSVC_DB_TIMEOUT_SECONDS and a margin, never a 500 or a hang,
keep serving what it can from Redis, and recover on its own when traffic flows again."""

import http.cookiejar
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_redis import get_redis_connection

from tests.conftest import DEFAULT_PASSWORD
from tests.faults import TcpProxy
from tests.live import LiveServer

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
DB_TIMEOUT = 2
# A correctness bound, not a benchmark: generous enough for a loaded 2-core CI box.
BOUND = DB_TIMEOUT + 3
READYZ_BOUND = 2.5  # the contract's 2 s, plus HTTP on a loaded box


@pytest.fixture
def proxy():
    with TcpProxy("127.0.0.1", int(connection.settings_dict["PORT"] or 5432)) as proxy:
        yield proxy


class Server:
    def __init__(self, base: str, log: Path):
        self.base, self.log = base, log

    def browser(self) -> "Browser":
        return Browser(self.base)


class Browser:
    """Cookies kept, CSRF echoed, every answer timed."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method: str, path: str, body: dict | None = None):
        csrf = next((c.value for c in self.jar if c.name == "csrftoken"), "")
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
        )
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=30) as response:
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        return Answer(status, headers, json.loads(raw or b"{}"), time.monotonic() - started)

    def login(self, email: str):
        return self.call("POST", "/auth/login/", {"email": email, "password": DEFAULT_PASSWORD})

    def register(self, email: str):
        return self.call("POST", "/auth/register/", {"email": email, "password": DEFAULT_PASSWORD})


class Answer:
    def __init__(self, status, headers, body, elapsed):
        self.status, self.headers, self.body, self.elapsed = status, headers, body, elapsed

    def __repr__(self):
        return f"<{self.status} {self.body} in {self.elapsed:.2f}s>"


@pytest.fixture
def server(proxy, transactional_db, tmp_path):
    db = connection.settings_dict
    log = tmp_path / "gunicorn.log"
    live = LiveServer(
        database_url=f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        redis_url=settings.REDIS_URL,
        keys_dir=str(tmp_path / "keys"),
        log=log,
        # One sync worker, the Dockerfile's --timeout: a partition must not get it killed.
        gunicorn_args=("--workers", "1", "--timeout", "30"),
        AUTHSVC_DB_TIMEOUT_SECONDS=str(DB_TIMEOUT),
        AUTHSVC_COOKIE_SECURE="0",
        AUTHSVC_RATE_LIMITS_ENABLED="0",
    )
    with live:
        yield Server(live.base, log)
    # A worker blocked past gunicorn's --timeout would have been killed and restarted.
    assert "WORKER TIMEOUT" not in log.read_text()


def assert_unavailable(answer, within=BOUND):
    assert (answer.status, answer.body.get("error")) == (503, "unavailable"), answer
    assert answer.headers["Retry-After"] == str(DB_TIMEOUT)
    assert answer.elapsed < within, answer


def assert_readyz_names_the_database(answer):
    assert answer.status == 503, answer
    assert answer.body["error"] == "not_ready"
    assert answer.body["checks"]["database"] == "unavailable"
    assert answer.elapsed < READYZ_BOUND, answer


def forget_snapshots():
    """Empty the session store: the next authenticated request must ask PostgreSQL."""
    get_redis_connection("default").flushdb()


def wait_until_ready(server, within=10):
    browser, deadline = server.browser(), time.monotonic() + within
    while time.monotonic() < deadline:
        if browser.call("GET", "/readyz").status == 200:
            return
        time.sleep(0.2)
    pytest.fail("the service did not become ready again after PostgreSQL came back")


def assert_everything_works(server, user):
    browser = server.browser()
    assert browser.call("GET", "/auth/csrf/").status == 200
    assert browser.login(user.email).status == 200
    assert browser.call("POST", "/auth/refresh/").status == 200
    forget_snapshots()
    assert browser.call("GET", "/auth/self/").status == 200  # from PostgreSQL
    ready = browser.call("GET", "/readyz")
    assert (ready.status, ready.body["status"]) == (200, "ready")
    return browser


def test_a_refused_database_is_503_unavailable_and_recovers_on_its_own(server, proxy, user):
    browser = assert_everything_works(server, user)  # signed in, snapshot cached
    fresh = server.browser()
    assert fresh.call("GET", "/auth/csrf/").status == 200

    proxy.refuse()

    # Refused connections fail at once: no need to wait for any timeout.
    assert_unavailable(fresh.login(user.email), within=DB_TIMEOUT)
    assert_unavailable(browser.call("POST", "/auth/refresh/"), within=DB_TIMEOUT)
    assert_unavailable(fresh.register("new@example.com"), within=DB_TIMEOUT)
    # The session snapshot cached in Redis still serves authenticated reads.
    assert browser.call("GET", "/auth/self/").status == 200
    forget_snapshots()
    assert_unavailable(browser.call("GET", "/auth/self/"), within=DB_TIMEOUT)
    assert_readyz_names_the_database(fresh.call("GET", "/readyz"))
    assert fresh.call("GET", "/healthz").status == 200

    proxy.restore()
    wait_until_ready(server)

    # Nothing the outage refused was half-done: the same refresh token and email work.
    assert browser.call("POST", "/auth/refresh/").status == 200
    assert fresh.register("new@example.com").status == 201
    assert_everything_works(server, user)


def test_a_partitioned_database_is_503_unavailable_in_bounded_time(server, proxy, user):
    browser = assert_everything_works(server, user)
    fresh = server.browser()
    assert fresh.call("GET", "/auth/csrf/").status == 200

    proxy.blackhole()

    # /readyz first, while this process has not yet seen the partition: its own connection
    # hangs in the handshake, and the probe still answers in time.
    assert_readyz_names_the_database(fresh.call("GET", "/readyz"))
    # The worker's open connection hangs; the watchdog cuts it.
    assert_unavailable(fresh.login(user.email))
    assert_unavailable(browser.call("POST", "/auth/refresh/"))
    assert_unavailable(fresh.register("new@example.com"))
    assert browser.call("GET", "/auth/self/").status == 200  # served from Redis
    forget_snapshots()
    assert_unavailable(browser.call("GET", "/auth/self/"))
    assert_readyz_names_the_database(fresh.call("GET", "/readyz"))
    assert fresh.call("GET", "/healthz").status == 200

    proxy.restore()
    wait_until_ready(server)

    assert browser.call("POST", "/auth/refresh/").status == 200
    assert fresh.register("new@example.com").status == 201
    assert_everything_works(server, user)
