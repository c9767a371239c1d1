"""A login's session is committed without waiting for the WAL flush; a registration's is not
(its transaction holds the new account too)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

# Real transactions: inside the test case's own, session_start would not own one.
pytestmark = pytest.mark.django_db(transaction=True)

ASYNC_COMMIT = "SET LOCAL synchronous_commit = off"


def test_login_commits_its_session_asynchronously(api, user):
    with CaptureQueriesContext(connection) as queries:
        assert api.login(user.email).status_code == 200

    statements = [q["sql"] for q in queries.captured_queries]
    # One for the session and its refresh token, one for the login's audit row.
    assert statements.count(ASYNC_COMMIT) == 2
    first = statements.index(ASYNC_COMMIT)
    assert any("sessions_store_session" in sql for sql in statements[first : first + 4])


def test_a_failed_login_is_audited_with_a_synchronous_commit(api, user):
    with CaptureQueriesContext(connection) as queries:
        assert api.login(user.email, "wrong password").status_code == 401

    assert ASYNC_COMMIT not in [q["sql"] for q in queries.captured_queries]


def test_registration_keeps_a_synchronous_commit(api):
    with CaptureQueriesContext(connection) as queries:
        assert api.register().status_code == 201

    assert ASYNC_COMMIT not in [q["sql"] for q in queries.captured_queries]
