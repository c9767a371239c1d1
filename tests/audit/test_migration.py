"""AuthEvent moved from accounts to audit (audit.0001_initial, accounts.0006) by renaming
its table: a database with events from before the move keeps every row, and the move can
be undone."""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.models import AuthEvent

ACCOUNTS_BEFORE = ("accounts", "0005_lockout_mfa_challenge_redis")
BEFORE_MOVE = [ACCOUNTS_BEFORE, ("audit", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


@pytest.mark.django_db(transaction=True)
def test_events_from_before_the_move_survive_it(make_user):
    user = make_user()
    session_id = uuid.uuid4()
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    executor = _migrate(BEFORE_MOVE)
    try:
        assert "accounts_authevent" in _tables()
        assert "audit_authevent" not in _tables()
        old_apps = executor.loader.project_state(ACCOUNTS_BEFORE).apps
        with pytest.raises(LookupError):
            old_apps.get_model("audit", "AuthEvent")
        old = old_apps.get_model("accounts", "AuthEvent").objects.create(
            type="login_failed",
            user_id=user.pk,
            session_id=session_id,
            ip="192.0.2.7",
            user_agent="pre-move",
            created_at=at,
            details={"reason": "wrong_password"},
        )
    finally:
        leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
        _migrate(leaves)

    assert "audit_authevent" in _tables()
    assert "accounts_authevent" not in _tables()
    moved = AuthEvent.objects.get(pk=old.pk)
    assert (moved.type, moved.user, moved.session_id, moved.ip) == (
        "login_failed",
        user,
        session_id,
        "192.0.2.7",
    )
    assert (moved.user_agent, moved.created_at, moved.details) == (
        "pre-move",
        at,
        {"reason": "wrong_password"},
    )
    # Named as if audit had created the table (the model's own indexes keep theirs).
    with connection.cursor() as cursor:
        names = set(connection.introspection.get_constraints(cursor, "audit_authevent"))
        cursor.execute("SELECT pg_get_serial_sequence('audit_authevent', 'id')")
        assert cursor.fetchone() == ("public.audit_authevent_id_seq",)
    assert {name for name in names if not name.startswith("authevent_")} == {
        "audit_authevent_pkey",
        "audit_authevent_user_id_d0f8c277",
    }
    # The id sequence came along: a new row follows the old one.
    assert AuthEvent.objects.create(type="logout", created_at=at).pk > old.pk


@pytest.mark.django_db(transaction=True)
def test_the_move_can_be_undone_with_the_rows(make_user):
    event = AuthEvent.objects.create(type="logout", user=make_user(), created_at=datetime.now(UTC))
    executor = _migrate(BEFORE_MOVE)
    try:
        old_model = executor.loader.project_state(ACCOUNTS_BEFORE).apps.get_model(
            "accounts", "AuthEvent"
        )
        assert old_model.objects.get(pk=event.pk).type == "logout"
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert AuthEvent.objects.get(pk=event.pk).user_id == event.user_id
