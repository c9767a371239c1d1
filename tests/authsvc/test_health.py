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

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("authsvc.views.connection.cursor", broken_cursor)

    response = api.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unavailable", "session_store": "ok"}


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
