"""A database that does not answer is `503 unavailable` with Retry-After on every door, and
every round trip on PostgreSQL is bounded by this process (authsvc/postgres). The same over
real HTTP, against a real server cut off from PostgreSQL: tests/authsvc/test_db_outage.py."""

import json
import time

import psycopg
import pytest
from django.db import connection
from django.db.utils import IntegrityError, InterfaceError, OperationalError

from authsvc.errors import exception_handler, server_error
from authsvc.postgres.base import DatabaseWrapper
from authsvc.postgres.outage import POLL_SECONDS, breaker_for
from tests.faults import TcpProxy

pytestmark = pytest.mark.django_db


def assert_unavailable(response, settings):
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(settings.AUTHSVC_DB_TIMEOUT_SECONDS)
    assert json.loads(response.content) == {
        "error": "unavailable",
        "detail": "The service cannot complete this request right now; try again shortly.",
    }


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("connection refused"),
        InterfaceError("connection already closed"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.ConnectionTimeout("connection timeout expired"),
    ],
)
def test_the_exception_handler_maps_database_errors_to_unavailable(settings, error):
    response = exception_handler(error, {"view": None})

    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.AUTHSVC_DB_TIMEOUT_SECONDS)
    assert response.data["error"] == "unavailable"


def test_an_error_raised_while_handling_a_lost_connection_is_unavailable(settings):
    try:
        try:
            raise OperationalError("server closed the connection unexpectedly")
        except OperationalError:
            raise RuntimeError("rollback failed") from None
    except RuntimeError as error:
        response = exception_handler(error, {"view": None})

    assert response.status_code == 503


def test_a_query_the_database_refused_is_still_a_500():
    response = exception_handler(IntegrityError("duplicate key"), {"view": None})

    assert response.status_code == 500
    assert response.data["error"] == "server_error"


def test_an_api_endpoint_answers_503_when_the_database_is_down(api, user, settings, monkeypatch):
    def down(**kwargs):
        raise OperationalError("connection to server failed: Connection refused")

    monkeypatch.setattr("accounts.services.user_login", down)

    assert_unavailable(api.login(user.email), settings)


def test_a_plain_django_view_answers_503_when_the_database_is_down(client, settings, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection to server failed: Connection refused")

    monkeypatch.setattr("django.contrib.auth.forms.authenticate", down)

    response = client.post("/admin/login/", {"username": "a@example.com", "password": "x"})

    assert_unavailable(response, settings)


def test_the_django_500_handler_answers_503_for_a_database_error(settings):
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(None)

    assert_unavailable(response, settings)


# -- the backend's own bounds, through a TCP proxy to the test database ------------------------


@pytest.fixture
def proxied():
    """A second connection to the test database, through a proxy the test can cut."""
    with TcpProxy("127.0.0.1", int(connection.settings_dict["PORT"] or 5432)) as proxy:
        settings_dict = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": str(proxy.port)}
        own = DatabaseWrapper(settings_dict)
        yield proxy, own
        proxy.restore()
        # The breaker's probe reconnects by itself once traffic flows again.
        deadline = time.monotonic() + 10
        while own.breaker.is_open and time.monotonic() < deadline:
            time.sleep(0.05)
        own.close()


def select_one(own) -> int:
    with own.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def test_a_query_on_a_partitioned_connection_is_cut_in_time(proxied, settings):
    proxy, own = proxied
    assert select_one(own) == 1
    proxy.blackhole()

    started = time.monotonic()
    with pytest.raises(OperationalError):
        select_one(own)
    elapsed = time.monotonic() - started

    bound = settings.AUTHSVC_DB_WATCH_SECONDS
    assert bound <= elapsed < bound + POLL_SECONDS + 1
    # So a request answers within AUTHSVC_DB_TIMEOUT_SECONDS.
    assert bound + POLL_SECONDS < settings.AUTHSVC_DB_TIMEOUT_SECONDS
    assert own.breaker.is_open


def test_while_the_breaker_is_open_connecting_fails_at_once(proxied):
    proxy, own = proxied
    assert select_one(own) == 1
    proxy.refuse()
    own.close()
    with pytest.raises(OperationalError):
        select_one(own)  # refused: the breaker opens
    proxy.blackhole()  # a real attempt would now wait the whole connect timeout

    started = time.monotonic()
    with pytest.raises(OperationalError, match="did not answer recently"):
        select_one(own)

    assert time.monotonic() - started < 0.1


def test_after_an_outage_the_breaker_closes_and_queries_work_again(proxied):
    proxy, own = proxied
    assert select_one(own) == 1
    proxy.refuse()
    with pytest.raises(OperationalError):
        select_one(own)  # the open connection was reset
    own.close()  # as Django does at the end of a request that failed
    with pytest.raises(OperationalError):
        select_one(own)  # refused: the breaker opens
    assert own.breaker.is_open

    proxy.restore()
    deadline = time.monotonic() + 5
    while own.breaker.is_open and time.monotonic() < deadline:
        time.sleep(0.05)

    assert not own.breaker.is_open
    assert select_one(own) == 1


def test_the_breaker_belongs_to_one_server():
    assert breaker_for(connection.settings_dict) is breaker_for(dict(connection.settings_dict))
    other = {**connection.settings_dict, "PORT": "1"}
    assert breaker_for(other) is not breaker_for(connection.settings_dict)


def test_maintenance_work_can_lift_the_bounds():
    bounded = connection.watch_seconds
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
    with connection.unbounded(), connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
        assert connection.watch_seconds >= 3600

    assert connection.watch_seconds == bounded
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == before != "0"
