"""`manage.py relay_events --metrics-port`: the relay is not behind gunicorn, so its own
counters (publishing failures, events published) are served on a port of its own."""

import subprocess
import sys
import urllib.request
import uuid

import pytest
from django.conf import settings

from audit.models import OutboxEvent
from authsvc import clock
from tests.audit.relay_helpers import wait_for
from tests.authsvc.metrics_helpers import samples, value
from tests.faults import free_port
from tests.live import ROOT, database_url, environ_without_service

pytestmark = pytest.mark.django_db(transaction=True)


def relay_metrics(port: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return samples(response.read().decode())
    except OSError:
        return {}


def test_the_relay_serves_its_failures_on_its_own_port(tmp_path):
    OutboxEvent.objects.create(
        event_id=uuid.uuid4(),
        type="user.registered",
        occurred_at=clock.now(),
        data={"method": "password"},
    )
    port = free_port()
    env = environ_without_service("PROMETHEUS")
    env.update(
        DJANGO_SETTINGS_MODULE="authsvc.settings.production",
        DJANGO_SECRET_KEY="relay-metrics-test-key-5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e",
        DATABASE_URL=database_url(),
        # Nothing listens there: every attempt to publish fails.
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        AUTHSVC_EVENTS_ENABLED="1",
        AUTHSVC_EVENTS_RELAY_BACKOFF_MAX_MS="100",
        AUTHSVC_KEYS_DIR=settings.AUTHSVC_KEYS_DIR,
    )
    log = tmp_path / "relay.log"
    with open(log, "w") as out:
        relay = subprocess.Popen(
            [sys.executable, "manage.py", "relay_events", "--metrics-port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        failing = wait_for(
            lambda: value(relay_metrics(port), "authsvc_events_relay_errors_total") >= 2, 30
        )
        assert failing, log.read_text()
        assert value(relay_metrics(port), "authsvc_events_relay_published_total") == 0
    finally:
        relay.terminate()
        relay.wait(timeout=10)
    assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 1


def test_published_events_are_counted():
    from prometheus_client import REGISTRY

    from audit.relay import stream_client
    from audit.relay_loop import RelayLoop

    def published() -> float:
        return REGISTRY.get_sample_value("authsvc_events_relay_published_total") or 0.0

    for _ in range(3):
        OutboxEvent.objects.create(
            event_id=uuid.uuid4(),
            type="user.registered",
            occurred_at=clock.now(),
            data={"method": "password"},
        )
    before = published()

    assert RelayLoop(stream_client()).once() == 3

    assert published() - before == 3
