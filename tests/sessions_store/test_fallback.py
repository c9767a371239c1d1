"""The database is the truth; the store losing its data or going away loses no session and
revives no revoked one."""

import pytest
import redis
from django.conf import settings
from django_redis import get_redis_connection

from sessions_store.backends import get_session_store
from sessions_store.models import Session

pytestmark = pytest.mark.django_db


def test_flushed_store_falls_back_to_the_database_and_repopulates(
    logged_in, django_assert_num_queries
):
    get_redis_connection("default").flushdb()

    assert logged_in.get("/auth/self/").status_code == 200
    with django_assert_num_queries(0):
        assert logged_in.get("/auth/self/").status_code == 200


def test_flushed_store_does_not_revive_a_revoked_session(logged_in):
    access = logged_in.cookie("access_token")
    logged_in.post_json("/auth/logout/")
    get_redis_connection("default").flushdb()

    logged_in.cookies["access_token"] = access
    response = logged_in.get("/auth/self/")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_refresh_survives_a_flushed_store(logged_in):
    get_redis_connection("default").flushdb()

    assert logged_in.post_json("/auth/refresh/").status_code == 200
    assert logged_in.get("/auth/self/").status_code == 200


@pytest.fixture
def redis_down(monkeypatch):
    """The store's client pointed at a port where nothing listens."""
    store = get_session_store()
    options = settings.CACHES["default"]["OPTIONS"]
    dead = redis.Redis(
        host="127.0.0.1",
        port=1,
        socket_connect_timeout=options["SOCKET_CONNECT_TIMEOUT"],
        **options["CONNECTION_POOL_KWARGS"],
    )
    monkeypatch.setattr(store, "client", dead)
    monkeypatch.setattr(store, "_put", dead.register_script("return 0"))
    return store


def test_unreachable_store_serves_from_the_database(user, api, redis_down):
    assert api.login(user.email).status_code == 200
    assert api.get("/auth/self/").status_code == 200
    assert api.post_json("/auth/refresh/").status_code == 200


def test_logout_with_unreachable_store_still_revokes(user, api, redis_down):
    api.login(user.email)
    access = api.cookie("access_token")

    assert api.post_json("/auth/logout/").status_code == 200

    assert Session.objects.get().revoked_at is not None
    api.cookies["access_token"] = access
    assert api.get("/auth/self/").status_code == 401


def test_readyz_stays_ready_but_degraded_when_the_store_is_down(api, redis_down):
    # Every request still works from the database: a 503 here would have a balancer pull
    # every instance at once (shared/API.md, "Operations").
    response = api.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "session_store": "unavailable"},
    }
