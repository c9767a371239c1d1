"""examples/authz/ for real: authsvc (gunicorn on the test database) and its relay publish
`session.created`; the example consumer, in a consumer group, gives each new session its
permissions through `PUT /auth/sessions/<sid>/claims/`. Introspection shows them at once,
and the access token from the next refresh carries them. Instances share the work, and
entries a crashed or failing instance left pending are taken over."""

import importlib.util
import threading
import time

import pytest
from authsvc_verifier import Introspector, ServiceAuthClient, Verifier, basic_credential

from accounts.models import User
from tests.clients.live_events import Relay, event_stream, publishing_server, wait_for_entry
from tests.clients.test_verifier_live import EMAIL, login
from tests.conftest import DEFAULT_PASSWORD
from tests.faults import free_port
from tests.live import ROOT
from tokens.service_clients import service_client_create

pytestmark = pytest.mark.django_db(transaction=True)

# authsvc's publisher (`manage.py relay_events`, audit/) comes with the outbox branch; until
# it is merged there is no loop to test.

_spec = importlib.util.spec_from_file_location("authz", ROOT / "examples" / "authz" / "authz.py")
authz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(authz)


@pytest.fixture
def stream():
    with event_stream("authz") as pair:
        yield pair


@pytest.fixture
def server(stream, tmp_path):
    User.objects.create_user(email=EMAIL, password=DEFAULT_PASSWORD)
    live = publishing_server(stream[1], tmp_path)
    with live, Relay(live, tmp_path / "relay.log"):
        yield live


@pytest.fixture
def policy():
    user_id = str(User.objects.get(email=EMAIL).pk)
    return {"default": ["orders:read"], "users": {user_id: ["orders:refund"]}}


def consumer(server, stream, policy, name, *, base=None, **options):
    client, secret = service_client_create(
        name=f"authz-{name}", scopes=["sessions:claims"], audiences=[]
    )
    claims = authz.Claims(
        base or server.base,
        ServiceAuthClient(base or server.base, client.client_id, secret),
        timeout=1,
    )
    made = authz.Consumer(
        stream[0], claims, stream=stream[1], name=name, policy=policy, block_ms=100, **options
    )
    made.ensure_group()
    return made


@pytest.fixture
def introspected(server):
    """The permissions introspection answers for a token, at this moment."""
    client, secret = service_client_create(name="reader", scopes=["introspect"], audiences=[])
    verifier = Verifier(
        server.base,
        mode="introspection",
        introspector=Introspector(
            server.base, credential=basic_credential(client.client_id, secret), cache_seconds=0
        ),
    )
    return lambda token: verifier.verify(token).permissions


def test_a_new_session_gets_its_permissions(server, stream, policy, introspected):
    worker = consumer(server, stream, policy, "one")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        browser, token = login(server)
        sid = Verifier(server.base).verify(token).session_id
        assert wait_for_entry(stream[0], stream[1], "session.created")["session_id"] == sid
        deadline = time.monotonic() + 5
        while introspected(token) != {"orders:read", "orders:refund"}:
            assert time.monotonic() < deadline, "the consumer never set the claims"
            time.sleep(0.05)
    finally:
        worker.stop()
        thread.join(5)
    assert Verifier(server.base).verify(token).permissions == frozenset()  # signed before
    status, body = browser.call(server.base, "POST", "/auth/refresh/")
    assert status == 200, body
    refreshed = Verifier(server.base).verify(browser.cookies["access_token"])
    assert refreshed.permissions == {"orders:read", "orders:refund"}
    assert stream[0].xpending(stream[1], "authz")["pending"] == 0


def test_instances_share_the_work_and_take_over_what_another_left(
    server, stream, policy, introspected
):
    crashed = consumer(server, stream, policy, "crashed")
    # An instance that cannot reach authsvc: its entries stay pending, unacknowledged.
    failing = consumer(server, stream, policy, "failing", base=f"http://127.0.0.1:{free_port()}")
    tokens = [login(server)[1] for _ in range(4)]
    deadline = time.monotonic() + 5
    while stream[0].xlen(stream[1]) < 4:
        assert time.monotonic() < deadline, "authsvc never published the logins"
        time.sleep(0.05)
    # One crashes after reading (no XACK), one fails to reach authsvc; each holds two.
    crashed.redis.xreadgroup(crashed.group, crashed.name, {stream[1]: ">"}, count=2)
    assert failing.step() == 0
    pending = stream[0].xpending(stream[1], "authz")
    assert pending["pending"] == 4
    assert {c["name"].decode(): c["pending"] for c in pending["consumers"]} == {
        "crashed": 2,
        "failing": 2,
    }
    for token in tokens:
        assert introspected(token) == frozenset()

    healthy = [consumer(server, stream, policy, f"healthy-{i}", min_idle_ms=300) for i in (1, 2)]
    assert sum(worker.step() for worker in healthy) == 0  # not idle long enough yet
    time.sleep(0.4)
    assert sum(worker.step() for worker in healthy) == 4  # both take over, between them
    assert stream[0].xpending(stream[1], "authz")["pending"] == 0
    for token in tokens:
        assert introspected(token) == {"orders:read", "orders:refund"}
