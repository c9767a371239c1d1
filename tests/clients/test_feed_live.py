"""The whole loop: authsvc (gunicorn on the test database, its fast path publishing after
commit) and its relay (`manage.py relay_events`) publish to a Redis Stream; a downstream
verifier in feed mode reads it. A logout, and a ban, make the verifier refuse the token
within a second, and it never asks authsvc: every request it makes goes through a proxy
that counts them."""

import time

import pytest
from authsvc_verifier import Introspector, InvalidToken, RedisStreamFeed, Verifier, basic_credential

from accounts.bans import user_ban
from accounts.models import User
from tests.clients.live_events import (
    CountingProxy,
    Relay,
    event_stream,
    publishing_server,
    wait_for_entry,
)
from tests.clients.test_verifier_live import EMAIL, _wait_positioned, login, logout
from tests.conftest import DEFAULT_PASSWORD
from tokens.service_clients import service_client_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stream():
    with event_stream("loop") as pair:
        yield pair


@pytest.fixture
def loop(stream, tmp_path):
    """authsvc, its relay, and a counting proxy in front of authsvc."""
    User.objects.create_user(email=EMAIL, password=DEFAULT_PASSWORD)
    live = publishing_server(stream[1], tmp_path)
    with live, Relay(live, tmp_path / "relay.log"), CountingProxy(live.base) as proxy:
        yield live, proxy


@pytest.fixture
def verifier(loop, stream):
    _server, proxy = loop
    client, secret = service_client_create(name="orders", scopes=["introspect"], audiences=[])
    feed = RedisStreamFeed(stream[0], stream=stream[1], block_ms=200).start()
    try:
        _wait_positioned(feed)
        time.sleep(2.1)  # `iat` is whole seconds, and the feed allows 1 s of clock skew
        yield Verifier(
            proxy.base,
            mode="feed",
            feed=feed,
            introspector=Introspector(
                proxy.base,
                credential=basic_credential(client.client_id, secret),
                cache_seconds=0,
            ),
        )
    finally:
        feed.stop()


def _refused_within(verifier, token, seconds: float) -> float:
    started = time.monotonic()
    while True:
        try:
            verifier.verify(token)
        except InvalidToken:
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, f"still accepted after {seconds} s"
        time.sleep(0.01)


def test_a_logout_is_refused_within_a_second_without_asking_authsvc(loop, verifier, stream):
    server, proxy = loop
    browser, token = login(server)
    principal = verifier.verify(token)
    assert principal.checked_by == "feed"
    assert proxy.calls == {"/.well-known/jwks.json": 1}  # the keys, once; no introspection

    logout(server, browser)
    took = _refused_within(verifier, token, 1.0)

    assert proxy.calls == {"/.well-known/jwks.json": 1}
    revoked = wait_for_entry(stream[0], stream[1], "session.revoked")
    assert (revoked["session_id"], revoked["user_id"]) == (principal.session_id, principal.subject)
    assert took < 1.0


def test_a_ban_is_refused_within_a_second_without_asking_authsvc(loop, verifier, stream):
    server, proxy = loop
    _, token = login(server)
    _, other = login(server)  # a second session: the ban ends both
    for each in (token, other):
        assert verifier.verify(each).checked_by == "feed"

    # An operator's ban, committed here: the relay process publishes it.
    user_ban(user=User.objects.get(email=EMAIL), reason="loop test")
    _refused_within(verifier, token, 1.0)
    _refused_within(verifier, other, 0.1)

    assert proxy.calls == {"/.well-known/jwks.json": 1}
    banned = wait_for_entry(stream[0], stream[1], "user.banned")
    assert banned["user_id"] == str(User.objects.get(email=EMAIL).pk)
    # ...and each session's own `session.revoked`, which the feed takes as well.
    wait_for_entry(stream[0], stream[1], "session.revoked")
