"""Redis down for 30 s loses nothing: the relay retries with backoff and then publishes every
event, in order. Redis of the test's own behind a proxy (tests/faults.py): the shared one is
never touched."""

import time

import pytest

from audit.models import OutboxEvent
from audit.outbox import outbox_append
from audit.relay import relay_errors_total, stream_client
from tests.audit.outbox_helpers import stream_entries
from tests.audit.relay_helpers import relay_running, wait_for
from tests.faults import RedisServer, TcpProxy

pytestmark = pytest.mark.django_db(transaction=True)

OUTAGE_SECONDS = 30


@pytest.fixture
def own_redis():
    server = RedisServer().start()
    try:
        with TcpProxy("127.0.0.1", server.port) as proxy:
            yield proxy
    finally:
        server.stop()


def _event(n: int) -> None:
    outbox_append("session.revoked", user_id=f"user-{n}", data={"reason": "logout"})


def test_a_30_second_redis_outage_loses_nothing(settings, own_redis):
    settings.AUTHSVC_EVENTS_RELAY_POLL_MS = 50
    settings.AUTHSVC_EVENTS_RELAY_BACKOFF_MAX_MS = 1000
    settings.AUTHSVC_EVENTS_REDIS_TIMEOUT_MS = 200
    client = stream_client(f"redis://127.0.0.1:{own_redis.port}/0")
    errors = relay_errors_total()
    with relay_running(client):
        for n in range(5):
            _event(n)
        assert wait_for(lambda: len(stream_entries(client)) == 5, 5)

        own_redis.refuse()
        outage_ends = time.monotonic() + OUTAGE_SECONDS
        n = 5
        while time.monotonic() < outage_ends:  # requests keep committing events meanwhile
            _event(n)
            n += 1
            time.sleep(0.5)
        assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == n - 5
        assert relay_errors_total() > errors  # it kept trying

        own_redis.restore()
        assert wait_for(lambda: len(stream_entries(client)) >= n, 10, step=0.1)

    entries = stream_entries(client)
    assert [e["user_id"] for e in entries] == [f"user-{i}" for i in range(n)]
    assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()
