"""Two real server processes on one database and one Redis: a logout made by the instance
that cannot reach Redis is honoured by the one that can, and stays honoured after Redis
is reachable again from both."""

import time

import jwt
import pytest
from django.conf import settings

from accounts.models import User
from tests.conftest import DEFAULT_PASSWORD
from tests.faults import RedisServer, TcpProxy
from tests.live import Browser, LiveServer, database_url

SYNC_SECONDS = 1


def _eventually_refused(base: str, access: str, *, within: float) -> float:
    """Seconds until `base` refuses the token; fails after `within`."""
    started = time.monotonic()
    while True:
        status, body = Browser().call(base, "GET", "/auth/self/", bearer=access)
        if status == 401:
            assert body["error"] == "invalid_token"
            return time.monotonic() - started
        assert status == 200, body
        assert time.monotonic() - started < within, "the revocation never reached this instance"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_logout_while_one_instance_cannot_reach_redis_is_honoured_by_both():
    User.objects.create_user(email="two@example.com", password=DEFAULT_PASSWORD)
    env = {"AUTHSVC_REVOCATION_SYNC_SECONDS": str(SYNC_SECONDS)}
    with (
        RedisServer() as redis_server,
        TcpProxy("127.0.0.1", redis_server.port) as proxy,
        LiveServer(
            database_url=database_url(),
            redis_url=f"redis://127.0.0.1:{proxy.port}/0",
            keys_dir=settings.AUTHSVC_KEYS_DIR,
            **env,
        ) as a,
        LiveServer(
            database_url=database_url(),
            redis_url=redis_server.url,
            keys_dir=settings.AUTHSVC_KEYS_DIR,
            **env,
        ) as b,
    ):
        browser = Browser()
        status, body = browser.call(
            b.base,
            "POST",
            "/auth/login/",
            {"email": "two@example.com", "password": DEFAULT_PASSWORD},
        )
        assert status == 200, body
        access = browser.cookies["access_token"]
        sid = jwt.decode(access, options={"verify_signature": False})["sid"]
        assert Browser().call(b.base, "GET", "/auth/self/", bearer=access)[0] == 200
        assert Browser().call(a.base, "GET", "/auth/self/", bearer=access)[0] == 200
        cached = redis_server_get(redis_server, sid)
        assert cached and cached != b"!"

        proxy.blackhole()
        status, body = browser.call(a.base, "POST", "/auth/logout/", {})
        assert status == 200, body
        assert (
            redis_server_get(redis_server, sid) == cached
            or redis_server_get(redis_server, sid) == b"!"
        )

        # B trusts Redis, where the snapshot may still be; it learns within the interval.
        waited = _eventually_refused(b.base, access, within=SYNC_SECONDS + 3)
        assert waited <= SYNC_SECONDS + 3
        assert redis_server_get(redis_server, sid) == b"!"  # B flushed the tombstone

        proxy.restore()
        for server in (a, b):
            status, body = Browser().call(server.base, "GET", "/auth/self/", bearer=access)
            assert (status, body["error"]) == (401, "invalid_token")
        time.sleep(SYNC_SECONDS + 0.5)  # past the interval: still refused everywhere
        for server in (a, b):
            status, body = Browser().call(server.base, "GET", "/auth/self/", bearer=access)
            assert (status, body["error"]) == (401, "invalid_token")


def redis_server_get(server: RedisServer, sid: str) -> bytes | None:
    import redis

    return redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=2).get(f"authsvc:s:{sid}")
