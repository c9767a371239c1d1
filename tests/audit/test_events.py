"""audit.events.record writes AuthEvent rows, durably, and never a secret."""

import pytest
from django.db import connection, connections, transaction

from audit import events
from audit.models import AuthEvent
from authsvc.http import ClientInfo
from tests.conftest import DEFAULT_PASSWORD, logged_events

CLIENT = ClientInfo(ip="203.0.113.7", user_agent="pytest-agent")


@pytest.fixture
def detached_cleanup(db):
    """Events written on their own connection are committed outside the test's
    transaction; delete them the same way afterwards."""
    yield
    own = connections.create_connection("default")
    try:
        with own.cursor() as cursor:
            cursor.execute("DELETE FROM audit_authevent WHERE user_agent = %s", [CLIENT.user_agent])
    finally:
        own.close()


def test_an_event_outside_a_transaction_is_written_at_once(user, clock):
    events.record("logout", user_id=str(user.pk), sid=None, client=CLIENT, revoked=1)

    event = AuthEvent.objects.get(type="logout")
    assert (event.user, event.ip, event.user_agent) == (user, "203.0.113.7", "pytest-agent")
    assert event.created_at == clock.now()
    assert event.details == {"revoked": 1}


def test_an_event_inside_a_transaction_waits_for_the_commit(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.record("user_registered", user_id=str(user.pk))
        assert not AuthEvent.objects.filter(type="user_registered").exists()

    assert AuthEvent.objects.filter(type="user_registered", user=user).exists()


def test_an_event_of_work_that_rolled_back_is_not_written(user, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        events.record("user_registered", user_id=str(user.pk))
        raise RuntimeError

    assert not AuthEvent.objects.filter(type="user_registered").exists()


@pytest.mark.usefixtures("detached_cleanup")
def test_a_failed_attempt_survives_the_rollback_that_follows_it(user):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.record("login_failed", user_id=str(user.pk), client=CLIENT, reason="x")
        raise RuntimeError

    event = AuthEvent.objects.get(type="login_failed", user_agent=CLIENT.user_agent)
    assert event.user_id == user.pk
    assert event.details == {"reason": "x"}


@pytest.mark.usefixtures("detached_cleanup")
def test_a_wrong_current_password_is_recorded_although_the_change_rolls_back(logged_in, user):
    response = logged_in.post_json(
        "/auth/password/change/",
        {"current_password": "not it at all", "new_password": "another good passphrase"},
        HTTP_USER_AGENT=CLIENT.user_agent,
    )

    assert response.status_code == 400
    assert AuthEvent.objects.filter(type="password_change_failed", user=user).exists()


def test_login_events_never_hold_the_password(api, user):
    api.login(user.email, "the wrong password 123")
    api.login(user.email, DEFAULT_PASSWORD)

    stored = list(AuthEvent.objects.filter(user=user).values_list("type", "details"))
    assert [kind for kind, _ in stored] == ["login_succeeded", "login_failed"]
    for _, details in stored:
        assert "password" not in str(details).lower() or "wrong_password" in str(details)
        assert DEFAULT_PASSWORD not in str(details)
        assert "the wrong password 123" not in str(details)


def test_reuse_is_stored_but_routine_refreshes_only_logged(logged_in, user, clock, caplog):
    old = logged_in.cookie("refresh_token")
    clock.advance(seconds=1)
    assert logged_in.post_json("/auth/refresh/").status_code == 200
    clock.advance(seconds=60)
    # The chain goes on, so the old token's successor is used: replaying it is theft.
    assert logged_in.post_json("/auth/refresh/").status_code == 200
    clock.advance(seconds=60)
    logged_in.cookies["refresh_token"] = old
    logged_in.post_json("/auth/refresh/")

    types = list(AuthEvent.objects.filter(user=user).values_list("type", flat=True))
    assert types[:2] == ["refresh_reuse_detected", "login_succeeded"]
    assert "token_refreshed" not in types
    assert "token_refreshed" in [line["event"] for line in logged_events(caplog)]
    for event in AuthEvent.objects.filter(user=user):
        assert old not in str(event.details)


def test_long_detail_values_are_cut(user):
    events.record("logout", user_id=str(user.pk), note="x" * 5000)

    assert len(AuthEvent.objects.get(type="logout").details["note"]) == 500


def test_events_are_indexed_for_a_users_newest_first(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'authevent_user_recent_idx'"
        )
        (definition,) = cursor.fetchone()

    assert "(user_id, created_at DESC)" in definition
