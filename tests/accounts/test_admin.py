"""The admin site as a staff user: the users list, the user page, the actions, the logs."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.bans import user_ban
from accounts.models import User
from accounts.roles import user_roles_set
from audit.models import AuthEvent
from sessions_store.models import Session
from tests.conftest import DEFAULT_PASSWORD
from tests.tokens.conftest import assert_error
from tokens.models import RefreshToken

USERS = "/admin/accounts/user/"


def changelist_emails(response) -> set[str]:
    return {user.email for user in response.context["cl"].result_list}


def test_the_users_list_shows_what_matters(staff_client, user):
    user_roles_set(user=user, roles=["user", "admin"])

    response = staff_client.get(USERS)

    assert response.status_code == 200
    page = response.content.decode()
    for column in ("roles", "banned", "2fa", "email verified", "last login"):
        assert column in page.lower()
    assert "admin, user" in page


def test_the_users_list_searches_email_and_name(staff_client, make_user):
    make_user(email="zed@example.com", name="Zed Zebra")
    make_user(email="yan@example.com")

    assert changelist_emails(staff_client.get(USERS, {"q": "zebra"})) == {"zed@example.com"}
    assert changelist_emails(staff_client.get(USERS, {"q": "yan@"})) == {"yan@example.com"}


def test_the_users_list_filters(staff_client, staff, make_user):
    banned = make_user(email="banned@example.com")
    user_ban(user=banned, reason="spam")
    verified = make_user(email="verified@example.com", email_verified=True)
    with_2fa = make_user(email="twofactor@example.com")
    TOTPDevice.objects.create(user=with_2fa, name="phone", confirmed=True)
    TOTPDevice.objects.create(user=verified, name="unconfirmed", confirmed=False)

    assert changelist_emails(staff_client.get(USERS, {"banned": "yes"})) == {banned.email}
    assert banned.email not in changelist_emails(staff_client.get(USERS, {"banned": "no"}))
    assert changelist_emails(staff_client.get(USERS, {"is_staff__exact": "1"})) == {staff.email}
    # The staff member logged in with their own second factor.
    assert changelist_emails(staff_client.get(USERS, {"two_factor": "yes"})) == {
        with_2fa.email,
        staff.email,
    }
    assert with_2fa.email not in changelist_emails(staff_client.get(USERS, {"two_factor": "no"}))
    assert changelist_emails(staff_client.get(USERS, {"email_verified__exact": "1"})) == {
        verified.email
    }


def test_the_user_page_shows_roles_sessions_and_recent_events(staff_client, logged_in, user):
    session = Session.objects.get(user=user)
    AuthEvent.objects.create(type="login_succeeded", user=user, created_at=session.created_at)

    response = staff_client.get(f"{USERS}{user.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f"/admin/sessions_store/session/{session.pk}/revoke/" in page
    assert "login_succeeded" in page
    assert f"?user__id__exact={user.pk}" in page


def test_revoking_a_session_from_the_user_page(staff_client, logged_in, user):
    session = Session.objects.get(user=user)
    url = f"/admin/sessions_store/session/{session.pk}/revoke/"

    confirm = staff_client.get(url)
    done = staff_client.post(url)

    assert confirm.status_code == 200
    assert done.status_code == 302
    assert done["Location"] == f"{USERS}{user.pk}/change/"
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    session.refresh_from_db()
    assert session.revoked_reason == "revoked_by_operator"


def test_the_ban_action_asks_for_a_reason_first(staff_client, user):
    response = staff_client.post(USERS, {"action": "ban_users", "_selected_action": [user.pk]})

    assert response.status_code == 200
    assert b'name="reason"' in response.content
    assert User.objects.get(pk=user.pk).is_active


def test_the_ban_action_bans_and_kills_the_tokens(staff_client, staff, logged_in, user, clock):
    until = clock.now() + timedelta(days=2)
    response = staff_client.post(
        USERS,
        {
            "action": "ban_users",
            "_selected_action": [user.pk],
            "apply": "1",
            "reason": "abuse",
            "until": until.strftime("%Y-%m-%d %H:%M:%S"),
        },
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    assert (user.ban_reason, user.banned_by, user.banned_until) == ("abuse", staff, until)
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    assert_error(logged_in.post_json("/auth/refresh/"), 401, "invalid_token")


def test_the_ban_action_refuses_to_ban_yourself(staff_client, staff):
    staff_client.post(
        USERS,
        {"action": "ban_users", "_selected_action": [staff.pk], "apply": "1", "reason": "x"},
    )

    assert User.objects.get(pk=staff.pk).is_active


def test_the_unban_action(staff_client, api, user):
    user_ban(user=user, reason="spam")

    response = staff_client.post(USERS, {"action": "unban_users", "_selected_action": [user.pk]})

    assert response.status_code == 302
    assert api.login(user.email).status_code == 200


def test_the_revoke_all_sessions_action(staff_client, logged_in, user):
    response = staff_client.post(
        USERS, {"action": "revoke_all_sessions", "_selected_action": [user.pk]}
    )

    assert response.status_code == 302
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    assert User.objects.get(pk=user.pk).is_active


def test_changing_groups_in_the_admin_reaches_the_snapshot(staff_client, logged_in, user):
    admin_group = Group.objects.get(name="admin")
    response = staff_client.post(
        f"{USERS}{user.pk}/change/",
        {
            "email": user.email,
            "name": user.name,
            "groups": [admin_group.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert logged_in.get("/auth/self/").json()["roles"] == ["admin"]


def test_the_event_log_is_read_only_and_filterable(staff_client, staff, user, make_user, clock):
    other = make_user()
    AuthEvent.objects.create(type="login_failed", user=user, created_at=clock.now())
    AuthEvent.objects.create(type="logout", user=user, created_at=clock.now())
    AuthEvent.objects.create(type="login_failed", user=other, created_at=clock.now())
    url = "/admin/audit/authevent/"

    by_type = staff_client.get(url, {"type": "login_failed"})
    by_user = staff_client.get(url, {"user__id__exact": str(user.pk)})
    today = clock.now()
    by_date = staff_client.get(
        url,
        {
            "created_at__year": today.year,
            "created_at__month": today.month,
            "created_at__day": today.day,
        },
    )

    assert {e.type for e in by_type.context["cl"].result_list} == {"login_failed"}
    assert {e.user_id for e in by_user.context["cl"].result_list} == {user.pk}
    # Besides the staff member's own admin login.
    assert len([e for e in by_date.context["cl"].result_list if e.user_id != staff.pk]) == 3
    event = AuthEvent.objects.filter(user=user).first()
    assert staff_client.get(f"{url}add/").status_code == 403
    assert staff_client.post(f"{url}{event.pk}/delete/").status_code == 403
    assert b"Save" not in staff_client.get(f"{url}{event.pk}/change/").content


def test_sessions_and_refresh_tokens_are_browsable_without_hashes(staff_client, logged_in, user):
    token = RefreshToken.objects.get(session__user=user)

    pages = [
        staff_client.get("/admin/sessions_store/session/"),
        staff_client.get("/admin/tokens/refreshtoken/"),
        staff_client.get(f"/admin/tokens/refreshtoken/{token.pk}/change/"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert token.token_hash.encode() not in page.content
        assert logged_in.cookie("refresh_token").encode() not in page.content


def test_a_non_staff_user_cannot_open_the_admin(user):
    client = Client()
    client.force_login(user)

    assert client.get(USERS).status_code == 302


@pytest.fixture
def admin_login_limits(settings):
    settings.AUTHSVC_RATE_LIMITS = {
        **settings.AUTHSVC_RATE_LIMITS,
        "admin_login_ip": "10/h",
        "admin_login_username": "3/h",
    }


def admin_login(client, email, password):
    return client.post("/admin/login/", {"username": email, "password": password})


def test_the_admin_login_works(staff):
    assert admin_login(Client(), staff.email, DEFAULT_PASSWORD).status_code == 302


def test_the_admin_login_is_rate_limited_per_username(staff, admin_login_limits):
    client = Client()
    for _ in range(3):
        assert admin_login(client, staff.email, "wrong").status_code == 200

    refused = admin_login(client, staff.email, DEFAULT_PASSWORD)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert b"Too many login attempts" in refused.content
    assert "_auth_user_id" not in client.session


def test_the_admin_login_is_rate_limited_per_ip(staff, admin_login_limits):
    client = Client()
    for n in range(10):
        admin_login(client, f"nobody{n}@example.com", "wrong")

    assert admin_login(client, staff.email, DEFAULT_PASSWORD).status_code == 429


def test_successful_admin_logins_are_not_counted(staff, admin_login_limits):
    for _ in range(5):
        assert admin_login(Client(), staff.email, DEFAULT_PASSWORD).status_code == 302


@override_settings(AUTHSVC_RATE_LIMITS={"admin_login_ip": "10/h", "admin_login_username": "3/h"})
def test_a_banned_staff_member_cannot_log_in_to_the_admin(staff, make_user):
    user_ban(user=staff, reason="left the company")

    assert admin_login(Client(), staff.email, DEFAULT_PASSWORD).status_code == 200
