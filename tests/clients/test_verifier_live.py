"""authsvc-verifier (clients/python) against a real authsvc: gunicorn with the production
settings on the test database and Redis. A login's access token verifies in each mode; after
logout introspection refuses it while signature mode still takes it (the documented risk);
a service token from /auth/token/ through ServiceAuthClient; a rotated key is found by the
unknown-kid refetch."""

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from authsvc_verifier import (
    Introspector,
    InvalidToken,
    JWKSCache,
    RedisStreamFeed,
    ServiceAuthClient,
    ServiceAuthError,
    Verifier,
    basic_credential,
    introspector_for,
)
from authsvc_verifier.feed import event_fields
from authsvc_verifier.jwks import http_fetcher
from django.conf import settings

from accounts.models import User
from tests.conftest import DEFAULT_PASSWORD
from tests.live import Browser, LiveServer, database_url
from tokens.keys.files import write_new_key
from tokens.service_clients import service_client_create

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "verifier@example.com"


@pytest.fixture
def keys_dir(tmp_path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def server(keys_dir, tmp_path):
    User.objects.create_user(email=EMAIL, password=DEFAULT_PASSWORD)
    live = LiveServer(
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        keys_dir=str(keys_dir),
        log=tmp_path / "gunicorn.log",
        AUTHSVC_RATE_LIMITS_ENABLED="0",
    )
    with live:
        yield live


@pytest.fixture
def client_credentials():
    client, secret = service_client_create(
        name="orders", scopes=["introspect", "orders:read"], audiences=["orders"]
    )
    return client.client_id, secret


def login(server) -> tuple[Browser, str]:
    browser = Browser()
    status, body = browser.call(
        server.base, "POST", "/auth/login/", {"email": EMAIL, "password": DEFAULT_PASSWORD}
    )
    assert status == 200, body
    return browser, browser.cookies["access_token"]


def logout(server, browser) -> None:
    status, body = browser.call(server.base, "POST", "/auth/logout/")
    assert status == 200, body


def test_a_login_verifies_in_each_mode_and_a_logout_is_seen_by_introspection(
    server, client_credentials
):
    client_id, secret = client_credentials
    signature = Verifier(server.base)
    by_basic = Verifier(
        server.base,
        mode="introspection",
        introspector=Introspector(
            server.base, credential=basic_credential(client_id, secret), cache_seconds=0
        ),
    )
    service_client = ServiceAuthClient(server.base, client_id, secret)
    by_token = Verifier(
        server.base,
        mode="introspection",
        introspector=introspector_for(service_client, server.base, cache_seconds=0),
    )
    redis_client = redis.Redis.from_url(settings.REDIS_URL)
    stream = f"authsvc:events:live:{uuid.uuid4().hex}"
    feed = RedisStreamFeed(redis_client, stream=stream, block_ms=100).start()
    try:
        _wait_positioned(feed)
        time.sleep(2.1)  # `iat` is whole seconds, and the feed allows 1 s of clock skew
        by_feed = Verifier(
            server.base,
            mode="feed",
            feed=feed,
            introspector=Introspector(
                server.base, credential=basic_credential(client_id, secret), cache_seconds=0
            ),
        )
        browser, token = login(server)
        claims_sid = signature.verify(token).session_id
        for verifier, checked_by in (
            (signature, "signature"),
            (by_basic, "introspection"),
            (by_token, "introspection"),
            (by_feed, "feed"),
        ):
            principal = verifier.verify(token)
            assert (principal.checked_by, principal.session_id) == (checked_by, claims_sid)
            assert principal.roles == set(signature.verify(token).claims["roles"])
        assert by_token.verify(token).subject == str(User.objects.get(email=EMAIL).id)

        logout(server, browser)

        # Introspection (cache TTL 0) refuses the token at once, by either credential.
        for verifier in (by_basic, by_token):
            with pytest.raises(InvalidToken):
                verifier.verify(token)
        # The documented risk of signature mode: the logged-out token still verifies, until exp.
        assert signature.verify(token).session_id == claims_sid
        # authsvc does not publish events yet: the entry its outbox will write, by hand.
        redis_client.xadd(
            stream,
            event_fields(
                id=str(uuid.uuid4()),
                type="session.revoked",
                user_id=signature.verify(token).subject,
                session_id=claims_sid,
                occurred_at=datetime.now(UTC).isoformat(),
            ),
        )
        deadline = time.monotonic() + 5
        while True:
            try:
                by_feed.verify(token)
            except InvalidToken:
                break
            assert time.monotonic() < deadline, "the feed never saw the revocation"
            time.sleep(0.05)
    finally:
        feed.stop()
        redis_client.delete(stream)
        redis_client.close()


def test_a_token_from_before_the_feed_started_is_introspected(server, client_credentials):
    client_id, secret = client_credentials
    browser, token = login(server)
    time.sleep(1.1)
    redis_client = redis.Redis.from_url(settings.REDIS_URL)
    feed = RedisStreamFeed(redis_client, stream=f"authsvc:events:live:{uuid.uuid4().hex}")
    feed.poll()
    verifier = Verifier(
        server.base,
        mode="feed",
        feed=feed,
        introspector=Introspector(server.base, credential=basic_credential(client_id, secret)),
    )
    assert verifier.verify(token).checked_by == "introspection"
    logout(server, browser)
    verifier.introspector.cache_seconds = 0
    verifier.introspector._cache.clear()
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    redis_client.close()


def test_a_service_token_from_the_token_endpoint(server, client_credentials):
    client_id, secret = client_credentials
    service_client = ServiceAuthClient(server.base, client_id, secret)
    token = service_client.token(scope="orders:read", audience="orders")
    assert service_client.token(scope="orders:read", audience="orders") == token  # cached
    orders = Verifier(server.base, service_audience="orders")
    principal = orders.verify(token, accept=("service",))
    assert (principal.client_id, principal.scopes) == (client_id, {"orders:read"})
    with pytest.raises(InvalidToken):
        orders.verify(token)  # never where a user's access token is expected
    with pytest.raises(InvalidToken):
        Verifier(server.base, service_audience="billing").verify(token, accept=("service",))
    introspecting = Verifier(
        server.base,
        mode="introspection",
        service_audience="orders",
        introspector=Introspector(server.base, credential=basic_credential(client_id, secret)),
    )
    assert introspecting.verify(token, accept=("service",)).checked_by == "introspection"
    with pytest.raises(ServiceAuthError) as refused:
        ServiceAuthClient(server.base, client_id, "wrong").token(audience="orders")
    assert refused.value.code == "invalid_client"
    with pytest.raises(ServiceAuthError) as refused:
        service_client.token(scope="admin", audience="orders")
    assert refused.value.code == "invalid_scope"


def test_a_rotated_key_is_found_by_the_unknown_kid_refetch(server, keys_dir):
    fetches = []
    fetch = http_fetcher(server.base + "/.well-known/jwks.json")
    jwks = JWKSCache(fetch=lambda etag: fetches.append(etag) or fetch(etag), min_refetch_interval=1)
    verifier = Verifier(server.base, jwks=jwks)
    _, first = login(server)
    verifier.verify(first)
    first_kid = _kid(first)
    assert len(fetches) == 1
    # A new key that may sign at once (`rotate_signing_key` would wait 15 s): the newest by
    # its activation time, so the server signs with it once it notices the folder (5 s).
    new = write_new_key(keys_dir, "RS256")
    deadline = time.monotonic() + 15
    while True:
        _, token = login(server)
        if _kid(token) == new.kid:
            break
        assert _kid(token) == first_kid
        assert time.monotonic() < deadline, "the server never signed with the new key"
        time.sleep(0.5)
    assert verifier.verify(token).checked_by == "signature"
    assert len(fetches) == 2  # one refetch, for the unknown kid, inside the 300 s max-age
    assert verifier.verify(first).subject  # the old key is still published


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def _wait_positioned(feed, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while feed.last_id is None:
        assert time.monotonic() < deadline, "the feed never reached its stream"
        time.sleep(0.01)
