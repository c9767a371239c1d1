"""The app's cache and session store pointed at a Redis of the test's own, behind a proxy
that can refuse or black-hole it (tests/faults.py)."""

import copy
from dataclasses import dataclass

import pytest
import redis

from authsvc.redis_guard import breaker_reset
from sessions_store.backends import _store
from sessions_store.backends.redis import SESSION_KEY
from tests.faults import RedisServer, TcpProxy


@dataclass
class Outage:
    server: RedisServer
    proxy: TcpProxy

    def direct(self) -> redis.Redis:
        """A client straight to the server, past the proxy (what another instance sees)."""
        return redis.Redis(host="127.0.0.1", port=self.server.port, socket_timeout=2)

    def cached(self, sid: str) -> bytes | None:
        return self.direct().get(SESSION_KEY.format(sid))

    def restore(self) -> None:
        self.proxy.restore()
        # The breaker would probe again after AUTHSVC_REDIS_BREAKER_SECONDS; no need to wait.
        breaker_reset()


@pytest.fixture
def outage(settings):
    with RedisServer() as server, TcpProxy("127.0.0.1", server.port) as proxy:
        caches = copy.deepcopy(settings.CACHES)
        caches["default"]["LOCATION"] = f"redis://127.0.0.1:{proxy.port}/0"
        settings.CACHES = caches  # Django resets its cache handlers on this signal
        settings.AUTHSVC_REVOCATION_SYNC_SECONDS = 0
        _store.cache_clear()
        breaker_reset()
        try:
            yield Outage(server, proxy)
        finally:
            _store.cache_clear()
            breaker_reset()
