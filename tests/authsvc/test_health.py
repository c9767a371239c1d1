import threading
import time

import pytest

pytestmark = pytest.mark.django_db


def test_healthz(api):
    response = api.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_everything_answers(api):
    response = api.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "session_store": "ok"},
    }


def test_readyz_names_the_database_when_it_is_down(api, monkeypatch):
    from django.db.utils import OperationalError

    def refused():
        raise OperationalError("connection refused")

    monkeypatch.setattr("authsvc.views._database_answers", refused)

    response = api.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "error": "not_ready",
        "detail": "Not ready: database unavailable.",
        "checks": {"database": "unavailable", "session_store": "ok"},
    }


def test_readyz_answers_in_time_when_a_check_hangs(api, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr("authsvc.views._database_answers", lambda: release.wait(10))
    monkeypatch.setattr(
        "sessions_store.backends.redis.RedisSessionStore.ping", lambda self: release.wait(10)
    )

    started = time.monotonic()
    response = api.get("/readyz")
    elapsed = time.monotonic() - started
    release.set()

    assert elapsed < 2
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unavailable", "session_store": "unavailable"}


def test_security_headers(api):
    response = api.get("/healthz")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_probes_only_answer_get(api):
    for path in ("/healthz", "/readyz", "/openapi.yaml"):
        response = api.post_json(path)
        assert response.status_code == 405
        assert response.json()["error"] == "method_not_allowed"
        assert response["Allow"] == "GET, HEAD"
