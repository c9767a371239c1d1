"""The operators' manage.py commands: thin wrappers over the same services."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from accounts.roles import user_roles
from audit.models import AuthEvent
from tests.conftest import DEFAULT_PASSWORD
from tests.tokens.conftest import assert_error, token_parts


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_ban_user_kills_the_tokens_and_refuses_login(logged_in, api, user, committed):
    with committed():
        output = run("ban_user", "ALICE@example.com", "--reason", "spam")

    assert "Banned alice@example.com (permanently)." in output
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    assert_error(logged_in.post_json("/auth/refresh/"), 401, "invalid_token")
    assert_error(api.login(user.email), 403, "account_disabled")
    event = AuthEvent.objects.get(type="user_banned", user=user)
    assert event.details["by"] is None


def test_ban_user_until_a_duration(user, clock):
    run("ban_user", user.email, "--reason", "cool down", "--until", "12h")

    user.refresh_from_db()
    assert user.banned_until == clock.now() + timedelta(hours=12)


def test_ban_user_until_a_date(user, clock):
    run("ban_user", user.email, "--reason", "r", "--until", "2099-01-02T03:04:05Z")

    user.refresh_from_db()
    assert user.banned_until.isoformat() == "2099-01-02T03:04:05+00:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody@example.com", "--reason", "x"], "No user with the email"),
        (["alice@example.com", "--reason", " "], "reason"),
        (["alice@example.com", "--reason", "x", "--until", "soon"], "neither a duration"),
        (["alice@example.com", "--reason", "x", "--until", "2001-01-01T00:00:00Z"], "future"),
    ],
)
def test_ban_user_refuses_bad_input(user, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("ban_user", *args)

    assert User.objects.get(pk=user.pk).is_active


def test_ban_user_requires_a_reason(user):
    with pytest.raises(CommandError, match="--reason"):
        call_command("ban_user", user.email)


def test_unban_user(api, user):
    run("ban_user", user.email, "--reason", "x")

    assert "Unbanned alice@example.com." in run("unban_user", user.email)
    assert api.login(user.email, DEFAULT_PASSWORD).status_code == 200
    assert "was not banned" in run("unban_user", user.email)


def test_revoke_sessions(logged_in, user, client_factory):
    client_factory().login(user.email)

    output = run("revoke_sessions", user.email)

    assert "Revoked 2 session(s) of alice@example.com." in output
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    assert User.objects.get(pk=user.pk).is_active


def test_set_roles_reaches_the_token_at_the_next_refresh(logged_in, user):
    output = run("set_roles", user.email, "admin", "user")

    assert "alice@example.com now has roles: admin, user." in output
    logged_in.post_json("/auth/refresh/")
    assert token_parts(logged_in.cookie("access_token"))[1]["roles"] == ["admin", "user"]


def test_set_roles_refuses_unknown_roles(user):
    with pytest.raises(CommandError, match="Unknown role"):
        call_command("set_roles", user.email, "wizard")

    assert user_roles(user) == []
    assert not Group.objects.filter(name="wizard").exists()


def test_set_roles_needs_a_role(user):
    with pytest.raises(CommandError):
        call_command("set_roles", user.email)


def test_create_demo_users_in_debug_only(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("create_demo_users")

    settings.DEBUG = True
    run("create_demo_users")
    again = run("create_demo_users")

    admin = User.objects.get(email="admin@example.com")
    assert admin.is_staff and user_roles(admin) == ["admin", "user"]
    assert user_roles(User.objects.get(email="bob@example.com")) == ["user"]
    assert "admin@example.com exists; skipped." in again


@pytest.mark.parametrize(
    "command",
    [
        "ban_user",
        "unban_user",
        "revoke_sessions",
        "set_roles",
        "rotate_signing_key",
        "purge_expired",
        "create_demo_users",
    ],
)
def test_every_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command(command, "--help")

    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    assert len(help_text) > 200
    assert "usage:" in help_text
