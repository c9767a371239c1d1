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
    # One transaction for the session, its refresh token and the login's audit row.
    assert statements.count(ASYNC_COMMIT) == 1
    first = statements.index(ASYNC_COMMIT)
    end = statements.index("COMMIT", first)
    within = statements[first:end]
    assert any("sessions_store_session" in sql for sql in within)
    assert any("tokens_refreshtoken" in sql for sql in within)
    assert any("audit_authevent" in sql and "login_succeeded" in sql for sql in within)
    assert not any("audit_authevent" in sql for sql in statements[end:])


def test_a_login_is_twelve_statements(api, user):
    api.login(user.email)
    with CaptureQueriesContext(connection) as queries:
        assert api.login(user.email).status_code == 200

    # The user, the lockout's count and clear, then one transaction: BEGIN, SET LOCAL,
    # last_login, the session, its outbox row, the roles, the refresh token, the audit row,
    # COMMIT.
    assert len(queries.captured_queries) == 12, [q["sql"][:60] for q in queries]


def test_a_failed_login_is_audited_with_a_synchronous_commit(api, user):
    with CaptureQueriesContext(connection) as queries:
        assert api.login(user.email, "wrong password").status_code == 401

    assert ASYNC_COMMIT not in [q["sql"] for q in queries.captured_queries]


def test_registration_keeps_a_synchronous_commit(api):
    with CaptureQueriesContext(connection) as queries:
        assert api.register().status_code == 201

    assert ASYNC_COMMIT not in [q["sql"] for q in queries.captured_queries]
