"""user_ban / user_unban: login refused, sessions and tokens dead at once, bans that end."""

from datetime import timedelta

import pytest
from django.core.cache import cache

from accounts.bans import bans_expired_lift, user_ban, user_unban
from accounts.exceptions import CannotBanSelf, InvalidRequest
from accounts.models import User
from audit.models import AuthEvent
from sessions_store.backends import get_session_store
from sessions_store.models import Session
from tests.conftest import DEFAULT_PASSWORD
from tests.tokens.conftest import assert_error


def test_a_ban_refuses_the_access_token_on_the_next_request(logged_in, user, admin_user):
    assert logged_in.get("/auth/self/").status_code == 200

    user_ban(user=user, reason="spam", by=admin_user)

    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")


def test_a_ban_refuses_the_refresh_token(logged_in, user):
    user_ban(user=user, reason="spam")

    assert_error(logged_in.post_json("/auth/refresh/"), 401, "invalid_token")


def test_the_ban_holds_when_the_session_store_forgot_the_session(logged_in, user):
    user_ban(user=user, reason="spam")
    cache.clear()  # the Redis store is flushed: every lookup falls back to the database

    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")


def test_a_ban_revokes_every_session_in_the_database(api, client_factory, user):
    api.login(user.email)
    client_factory().login(user.email)

    user_ban(user=user, reason="spam")

    sessions = Session.objects.filter(user=user)
    assert sessions.count() == 2
    assert all(s.revoked_at is not None and s.revoked_reason == "banned" for s in sessions)


def test_a_banned_user_with_the_right_password_gets_account_disabled(api, user):
    user_ban(user=user, reason="spam")

    response = api.login(user.email)

    assert_error(response, 403, "account_disabled")
    assert "access_token" not in response.cookies


def test_a_banned_user_with_a_wrong_password_gets_the_generic_401(api, user):
    user_ban(user=user, reason="spam")

    assert_error(api.login(user.email, "wrong password entirely"), 401, "invalid_credentials")


def test_the_ban_records_who_why_and_until_when(user, admin_user, clock, committed):
    until = clock.now() + timedelta(days=3)

    with committed():
        user_ban(user=user, reason="  chargeback fraud ", until=until, by=admin_user)

    user.refresh_from_db()
    assert user.is_active is False
    assert user.is_banned
    assert user.banned_at == clock.now()
    assert user.banned_until == until
    assert user.ban_reason == "chargeback fraud"
    assert user.banned_by == admin_user
    event = AuthEvent.objects.get(type="user_banned", user=user)
    assert event.details["by"] == str(admin_user.pk)
    assert event.details["reason"] == "chargeback fraud"
    assert event.details["until"] == until.isoformat()


def test_a_temporary_ban_lifts_itself_at_the_next_login(api, user, clock):
    user_ban(user=user, reason="cool down", until=clock.now() + timedelta(hours=1))
    assert_error(api.login(user.email), 403, "account_disabled")

    clock.advance(hours=1)

    assert api.login(user.email).status_code == 200
    user.refresh_from_db()
    assert user.is_active and not user.is_banned and user.ban_reason == ""
    assert AuthEvent.objects.filter(type="ban_expired", user=user).exists()


def test_a_temporary_ban_has_not_lifted_a_second_early(api, user, clock):
    user_ban(user=user, reason="cool down", until=clock.now() + timedelta(hours=1))

    clock.advance(minutes=59, seconds=59)

    assert_error(api.login(user.email), 403, "account_disabled")


def test_ended_bans_are_lifted_in_bulk(make_user, clock):
    ended = make_user()
    running = make_user()
    permanent = make_user()
    user_ban(user=ended, reason="r", until=clock.now() + timedelta(minutes=5))
    user_ban(user=running, reason="r", until=clock.now() + timedelta(days=5))
    user_ban(user=permanent, reason="r")
    clock.advance(minutes=6)

    assert bans_expired_lift() == 1

    assert User.objects.get(pk=ended.pk).is_active
    assert not User.objects.get(pk=running.pk).is_active
    assert not User.objects.get(pk=permanent.pk).is_active


def test_unban_lets_the_user_log_in_again(api, user, admin_user, committed):
    user_ban(user=user, reason="spam")

    with committed():
        assert user_unban(user=user, by=admin_user) is True

    assert api.login(user.email, DEFAULT_PASSWORD).status_code == 200
    assert AuthEvent.objects.filter(type="user_unbanned", user=user).exists()


def test_unbanning_a_user_who_is_not_banned_changes_nothing(user):
    assert user_unban(user=user) is False
    assert not AuthEvent.objects.filter(type="user_unbanned").exists()


def test_an_operator_cannot_ban_themselves(admin_user):
    with pytest.raises(CannotBanSelf):
        user_ban(user=admin_user, reason="oops", by=admin_user)
    admin_user.refresh_from_db()
    assert admin_user.is_active


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_ban_needs_a_short_reason(user, reason):
    with pytest.raises(InvalidRequest) as caught:
        user_ban(user=user, reason=reason)
    assert set(caught.value.fields) == {"reason"}
    user.refresh_from_db()
    assert user.is_active


def test_a_ban_cannot_end_in_the_past(user, clock):
    with pytest.raises(InvalidRequest) as caught:
        user_ban(user=user, reason="r", until=clock.now())
    assert set(caught.value.fields) == {"until"}


def test_a_ban_leaves_other_users_sessions_alone(logged_in, user, make_user):
    other = make_user()
    user_ban(user=other, reason="spam")

    assert logged_in.get("/auth/self/").status_code == 200
    assert get_session_store().user_sessions(str(user.pk))
