"""A long-running feed reader through real faults (tests/faults.py's TCP proxy in front of
the test Redis): while Redis is refused or partitioned the feed stops vouching for tokens
(they go to introspection) and keeps retrying; once traffic flows it reads on from where it
stopped, revocations published meanwhile included."""

import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
import redis
from authsvc_verifier import RedisStreamFeed
from authsvc_verifier.feed import event_fields
from django.conf import settings

from tests.faults import TcpProxy


@pytest.fixture
def shared():
    client = redis.Redis.from_url(settings.REDIS_URL)
    name = f"authsvc:events:reconnect:{uuid.uuid4().hex}"
    yield client, name
    client.delete(name)
    client.close()


def revoke(client, name, session_id):
    client.xadd(
        name,
        event_fields(
            id=str(uuid.uuid4()),
            type="session.revoked",
            user_id="u1",
            session_id=session_id,
            occurred_at=datetime.now(UTC).isoformat(),
        ),
    )


def until(condition, within: float, what: str):
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.mark.parametrize("fault", ["refuse", "blackhole"])
def test_the_feed_reads_on_after_redis_comes_back(shared, fault):
    client, name = shared
    url = urlparse(settings.REDIS_URL)
    with TcpProxy(url.hostname, url.port or 6379) as proxy:
        through = redis.Redis(
            host="127.0.0.1",
            port=proxy.port,
            db=int(url.path.strip("/") or 0),
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
        )
        feed = RedisStreamFeed(
            through,
            stream=name,
            block_ms=100,
            max_gap=1,
            clock_skew=0,
            retry_seconds=0.05,
            max_retry_seconds=0.2,
        ).start()
        try:
            until(lambda: feed.last_id is not None, 5, "the feed never reached its stream")
            revoke(client, name, "before")
            until(
                lambda: feed.is_revoked(user_id="u1", session_id="before", issued_at=0),
                5,
                "the feed never read the first revocation",
            )
            issued = time.time()

            getattr(proxy, fault)()
            revoke(client, name, "during")  # published while the feed cannot read
            until(lambda: not feed.covers(issued), 10, "the feed kept vouching while cut off")
            until(lambda: feed.failures > 0, 15, "no read failed while cut off")

            proxy.restore()
            until(
                lambda: feed.is_revoked(user_id="u1", session_id="during", issued_at=issued),
                15,
                "the feed never read on after Redis came back",
            )
            until(lambda: feed.covers(issued), 5, "the feed never vouched again")
            revoke(client, name, "after")
            until(
                lambda: feed.is_revoked(user_id="u1", session_id="after", issued_at=issued),
                5,
                "the feed stopped following the stream",
            )
            assert feed.failures == 0
        finally:
            feed.stop()
            through.close()
