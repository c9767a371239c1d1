"""The admin door: the second factor at /admin/, the require-2FA gate, admin sessions that
every revocation ends, operator edits through the services, and their audit rows."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django_redis import get_redis_connection

from accounts.admin_door import admin_login_password_passed
from accounts.bans import user_ban, user_unban
from accounts.management.commands import changepassword
from accounts.mfa.services import mfa_reset
from accounts.models import User
from accounts.services import user_save_by_operator
from audit.models import AuthEvent
from authsvc.http import ClientInfo
from sessions_store.backends import get_session_store
from sessions_store.backends.base import REVOKED
from sessions_store.models import Session
from tests.accounts.conftest import admin_log_in
from tests.accounts.mfa_helpers import enrol, login_challenged, verify
from tests.conftest import DEFAULT_PASSWORD
from tests.tokens.conftest import assert_error

USERS = "/admin/accounts/user/"
NEW_PASSWORD = "a brand new passphrase 42"


def logged_in_to_admin(client) -> bool:
    response = client.get(USERS)
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    return False


def copy_of(client) -> Client:
    """Another browser holding a copy of `client`'s admin cookie."""
    thief = Client()
    thief.cookies["admin_sessionid"] = client.cookies["admin_sessionid"].value
    return thief


def admin_sid(staff) -> str:
    return str(Session.objects.get(user=staff, kind=Session.ADMIN, revoked_at__isnull=True).pk)


def api_login_with_2fa(api, user, totp, clock):
    clock.advance(seconds=30)  # the admin login used the current step's code
    login_challenged(api, user.email)
    response = verify(api, totp.at(clock.now()))
    assert response.status_code == 200, response.content
    return api


def events_of(user, type_):
    return list(AuthEvent.objects.filter(user_id=user.pk, type=type_).order_by("created_at"))


# The second factor


def test_the_right_code_opens_an_admin_session_with_both_factors(clock, staff, staff_totp):
    client = Client()
    password_step = client.post(
        "/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD}
    )

    assert password_step["Location"] == "/admin/login/2fa/"
    assert not logged_in_to_admin(client)
    done = client.post("/admin/login/2fa/", {"code": staff_totp.at(clock.now())})

    assert done.status_code == 302
    assert logged_in_to_admin(client)
    session = Session.objects.get(user=staff)
    assert session.kind == Session.ADMIN
    assert session.amr == ["pwd", "otp"]
    assert session.expires_at == clock.now() + timedelta(hours=8)
    assert not session.refresh_tokens.exists()
    (succeeded,) = events_of(staff, "admin_login_succeeded")
    assert succeeded.details == {"amr": ["pwd", "otp"], "mfa_method": "totp"}
    assert succeeded.session_id == session.pk


def test_the_password_alone_does_not_open_the_admin(staff, staff_totp):
    client = Client()
    client.post("/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD})

    assert client.get("/admin/").status_code == 302
    assert not Session.objects.filter(user=staff).exists()


def test_a_wrong_code_is_refused_and_audited(clock, staff, staff_totp):
    client = Client()
    client.post("/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD})

    wrong = client.post(
        "/admin/login/2fa/", {"code": staff_totp.at(clock.now() - timedelta(minutes=5))}
    )

    assert wrong.status_code == 200
    assert b"That code is not right" in wrong.content
    assert not logged_in_to_admin(client)
    (failed,) = events_of(staff, "admin_login_failed")
    assert failed.details == {"factor": "otp", "error": "invalid_code"}
    assert events_of(staff, "mfa_code_failed")[0].details == {"purpose": "admin_login"}
    # The challenge survives a wrong code: the right one still works.
    assert client.post("/admin/login/2fa/", {"code": staff_totp.at(clock.now())}).status_code == 302
    assert logged_in_to_admin(client)


def test_a_totp_code_works_once(clock, staff, staff_totp):
    admin_log_in(Client(), staff, staff_totp)
    second = Client()
    second.post("/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD})

    replay = second.post("/admin/login/2fa/", {"code": staff_totp.at(clock.now())})

    assert replay.status_code == 200
    assert not logged_in_to_admin(second)


def test_a_code_used_at_the_api_is_spent_at_the_admin(clock, staff, staff_totp, api):
    login_challenged(api, staff.email)
    assert verify(api, staff_totp.at(clock.now())).status_code == 200
    client = Client()
    client.post("/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD})

    assert client.post("/admin/login/2fa/", {"code": staff_totp.at(clock.now())}).status_code == 200
    assert not logged_in_to_admin(client)


def test_a_backup_code_works_once(clock, make_user, client_factory):
    staff = make_user(email="boss@example.com", is_staff=True, is_superuser=True)
    api = client_factory()
    assert api.login(staff.email).status_code == 200
    enrolled = enrol(api, clock)
    code = enrolled.backup_codes[0]
    client = Client()
    client.post("/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD})

    assert client.post("/admin/login/2fa/", {"code": code}).status_code == 302
    assert logged_in_to_admin(client)
    assert events_of(staff, "admin_login_succeeded")[0].details["mfa_method"] == "backup_code"
    again = Client()
    again.post("/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD})
    assert again.post("/admin/login/2fa/", {"code": code}).status_code == 200
    assert not logged_in_to_admin(again)


def test_wrong_codes_are_throttled_per_account_with_the_api(
    clock, staff, staff_totp, api, settings
):
    settings.AUTHSVC_MFA_FREE_FAILURES = 3
    # Wrong codes at the API count against the same account throttle.
    login_challenged(api, staff.email)
    # Three are free; the fourth is the first one the throttle makes wait for.
    for _ in range(4):
        assert_error(verify(api, "000000"), 401, "invalid_code")
    client = Client()
    client.post("/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD})

    throttled = client.post("/admin/login/2fa/", {"code": staff_totp.at(clock.now())})

    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) >= 1
    assert not logged_in_to_admin(client)
    assert events_of(staff, "admin_login_failed")[0].details["error"] == "rate_limited"
    clock.advance(seconds=int(throttled["Retry-After"]))
    assert client.post("/admin/login/2fa/", {"code": staff_totp.at(clock.now())}).status_code == 302


def test_too_many_wrong_codes_send_the_login_back_to_the_password(
    clock, staff, staff_totp, settings
):
    settings.AUTHSVC_MFA_CHALLENGE_MAX_FAILURES = 2
    client = Client()
    client.post("/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD})
    for _ in range(2):
        assert client.post("/admin/login/2fa/", {"code": "000000"}).status_code == 200

    late = client.post("/admin/login/2fa/", {"code": staff_totp.at(clock.now())})

    assert late.status_code == 302
    assert late["Location"] == "/admin/login/"
    assert not logged_in_to_admin(client)


def test_the_code_step_without_a_password_goes_back_to_the_login():
    response = Client().get("/admin/login/2fa/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/"


def test_a_staff_member_removed_while_the_code_waits_is_refused(clock, staff, staff_totp):
    client = Client()
    client.post("/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD})
    User.objects.filter(pk=staff.pk).update(is_staff=False)

    response = client.post("/admin/login/2fa/", {"code": staff_totp.at(clock.now())})

    assert response["Location"] == "/admin/login/"
    assert not Session.objects.filter(user=staff).exists()


# AUTHSVC_ADMIN_REQUIRE_2FA


@pytest.fixture
def staff_without_2fa(make_user):
    return make_user(email="new-staff@example.com", is_staff=True, is_superuser=True)


def test_staff_without_a_second_factor_only_see_how_to_enrol(staff_without_2fa, settings):
    settings.AUTHSVC_ADMIN_REQUIRE_2FA = True
    client = Client()
    admin_log_in(client, staff_without_2fa)

    for page in (
        "/admin/",
        USERS,
        f"{USERS}{staff_without_2fa.pk}/change/",
        "/admin/password_change/",
    ):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"] == "/admin/two-factor-required/"
    enrol_page = client.get("/admin/two-factor-required/")
    assert enrol_page.status_code == 200
    assert b"/auth/2fa/totp/setup/" in enrol_page.content
    assert staff_without_2fa.email.encode() not in enrol_page.content.split(b"<h1>")[-1]
    assert client.post("/admin/logout/").status_code == 200


def test_without_the_requirement_the_password_is_enough(staff_without_2fa, settings):
    settings.AUTHSVC_ADMIN_REQUIRE_2FA = False
    client = Client()
    admin_log_in(client, staff_without_2fa)

    assert logged_in_to_admin(client)
    assert Session.objects.get(user=staff_without_2fa).amr == ["pwd"]


def test_enrolling_ends_the_password_only_admin_session(staff_without_2fa, api, clock, settings):
    settings.AUTHSVC_ADMIN_REQUIRE_2FA = True
    client = Client()
    admin_log_in(client, staff_without_2fa)
    assert api.login(staff_without_2fa.email).status_code == 200

    enrolled = enrol(api, clock)

    assert client.get("/admin/two-factor-required/")["Location"].startswith("/admin/login/")
    admin_log_in(client, staff_without_2fa, enrolled.totp)
    assert logged_in_to_admin(client)


# Admin sessions end with every revocation


def test_a_copied_cookie_is_dead_after_logout(staff_client, staff):
    thief = copy_of(staff_client)
    assert logged_in_to_admin(thief)

    assert staff_client.post("/admin/logout/").status_code == 200

    assert not logged_in_to_admin(thief)
    assert not logged_in_to_admin(staff_client)
    session = Session.objects.get(user=staff)
    assert session.revoked_reason == "admin_logout"
    (logout,) = events_of(staff, "admin_logout")
    assert logout.session_id == session.pk


def test_logout_all_at_the_api_ends_the_admin_session(clock, staff_client, staff, staff_totp, api):
    thief = copy_of(staff_client)
    api_login_with_2fa(api, staff, staff_totp, clock)

    assert api.post_json("/auth/logout-all/").json()["revoked"] == 2

    assert not logged_in_to_admin(staff_client)
    assert not logged_in_to_admin(thief)


def test_the_sessions_list_shows_the_admin_session(clock, staff_client, staff, staff_totp, api):
    api_login_with_2fa(api, staff, staff_totp, clock)

    listed = api.get("/auth/sessions/").json()

    assert sorted((s["kind"], s["current"]) for s in listed) == [("admin", False), ("api", True)]
    admin_row = next(s for s in listed if s["kind"] == "admin")
    assert api.delete(f"/auth/sessions/{admin_row['id']}/").status_code == 204
    assert not logged_in_to_admin(staff_client)


def test_the_revoke_sessions_command_ends_the_admin_session(staff_client, staff):
    thief = copy_of(staff_client)

    call_command("revoke_sessions", staff.email, stdout=StringIO())

    assert not logged_in_to_admin(staff_client)
    assert not logged_in_to_admin(thief)


def test_the_revoke_action_on_yourself_ends_your_admin_session(staff_client, staff):
    response = staff_client.post(
        USERS, {"action": "revoke_all_sessions", "_selected_action": [staff.pk]}
    )

    assert response.status_code == 302
    assert not logged_in_to_admin(staff_client)


def test_a_ban_ends_the_admin_session_for_good(staff_client, staff, make_user):
    thief = copy_of(staff_client)

    user_ban(user=staff, reason="left the company")
    user_unban(user=staff)

    assert not logged_in_to_admin(staff_client)
    assert not logged_in_to_admin(thief)


def test_a_password_change_at_the_api_ends_the_admin_session(
    clock, staff_client, staff, staff_totp, api
):
    api_login_with_2fa(api, staff, staff_totp, clock)
    sid = admin_sid(staff)

    response = api.post_json(
        "/auth/password/change/",
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert Session.objects.get(pk=sid).revoked_reason == "password_changed"
    assert not logged_in_to_admin(staff_client)


def test_a_2fa_reset_ends_the_admin_session(staff_client, staff):
    thief = copy_of(staff_client)

    mfa_reset(user=staff, by=None)

    assert not logged_in_to_admin(staff_client)
    assert not logged_in_to_admin(thief)


def test_the_admin_session_ends_after_its_lifetime(clock, staff_client):
    clock.advance(hours=8, seconds=1)

    assert not logged_in_to_admin(staff_client)


def test_the_admin_session_is_checked_in_the_database_when_the_store_forgets(staff_client, staff):
    sid = admin_sid(staff)
    get_redis_connection("default").flushdb()
    assert logged_in_to_admin(staff_client)

    Session.objects.filter(pk=sid).update(revoked_at=Session.objects.get(pk=sid).created_at)
    get_redis_connection("default").flushdb()

    assert not logged_in_to_admin(staff_client)


def test_a_django_session_without_an_admin_session_is_logged_out(staff):
    client = Client()
    client.force_login(staff)

    assert not logged_in_to_admin(client)


# Operator edits through the services


def test_an_operator_password_set_ends_the_users_sessions(
    staff_client, staff, logged_in, user, committed
):
    with committed():
        response = staff_client.post(
            f"{USERS}{user.pk}/password/",
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
        )

    assert response.status_code == 302, response.content
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    (event,) = events_of(user, "password_set")
    assert event.details == {"by": str(staff.pk), "revoked": 1}


def test_disabling_password_logins_ends_the_users_sessions(staff_client, logged_in, user):
    response = staff_client.post(
        f"{USERS}{user.pk}/password/", {"usable_password": "false", "unset-password": "1"}
    )

    assert response.status_code == 302
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_your_own_password_change_keeps_this_page_and_ends_the_rest(
    clock, staff_client, staff, staff_totp, api
):
    api_login_with_2fa(api, staff, staff_totp, clock)
    other_admin = copy_of(staff_client)
    clock.advance(seconds=30)
    elsewhere = Client()
    admin_log_in(elsewhere, staff, staff_totp)

    response = staff_client.post(
        "/admin/password_change/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/password_change/done/"
    assert logged_in_to_admin(staff_client)
    # A copy taken before carries the old password's hash: Django logs it out.
    assert not logged_in_to_admin(other_admin)
    assert not logged_in_to_admin(elsewhere)
    assert_error(api.get("/auth/self/"), 401, "invalid_token")


def test_changepassword_ends_the_users_sessions(logged_in, user, monkeypatch):
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)
    out = StringIO()

    call_command("changepassword", user.email, stdout=out)

    assert "1 session(s) ended" in out.getvalue()
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_changepassword_refuses_a_weak_password(user, monkeypatch):
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": "password")

    with pytest.raises(Exception, match="after 3 attempts"):
        call_command("changepassword", user.email, stdout=StringIO(), stderr=StringIO())

    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_deleting_a_user_kills_their_cached_tokens_at_once(
    staff_client, staff, logged_in, user, committed
):
    sid = str(Session.objects.get(user=user).pk)
    assert logged_in.get("/auth/self/").status_code == 200  # the snapshot is cached
    assert get_session_store().get(sid) not in (None, REVOKED)

    with committed():
        response = staff_client.post(f"{USERS}{user.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert get_session_store().get(sid) is REVOKED
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    (event,) = AuthEvent.objects.filter(type="user_deleted")
    assert event.details == {"by": str(staff.pk), "revoked": 1}


def test_the_bulk_delete_action_kills_cached_tokens_too(staff_client, logged_in, user, make_user):
    other = make_user()
    assert logged_in.get("/auth/self/").status_code == 200

    response = staff_client.post(
        USERS,
        {"action": "delete_selected", "_selected_action": [user.pk, other.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[user.pk, other.pk]).exists()
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")


def test_an_admin_profile_edit_shows_in_self_at_once(staff_client, logged_in, user, committed):
    assert logged_in.get("/auth/self/").json()["email"] == user.email

    with committed():
        response = staff_client.post(
            f"{USERS}{user.pk}/change/",
            {
                "email": "Alice.New@Example.com",
                "name": "Alice New",
                "email_verified": "on",
                "date_joined_0": "2026-01-01",
                "date_joined_1": "00:00:00",
            },
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    me = logged_in.get("/auth/self/").json()
    assert (me["email"], me["name"], me["email_verified"]) == (
        "alice.new@example.com",
        "Alice New",
        True,
    )
    (event,) = events_of(user, "user_changed_by_operator")
    assert event.details["fields"] == ["email", "email_verified", "name"]


def test_an_operator_deactivation_ends_the_sessions(logged_in, user, staff):
    user.is_active = False

    user_save_by_operator(user=user, changed=["is_active"], by=staff)

    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    assert Session.objects.get(user=user).revoked_reason == "deactivated"


# Audit


def test_admin_logins_failures_and_logouts_are_audited(clock, staff, staff_totp):
    client = Client()
    client.post("/admin/login/", {"username": staff.email, "password": "wrong"})
    client.post("/admin/login/", {"username": "nobody@example.com", "password": "wrong"})
    admin_log_in(client, staff, staff_totp)
    client.post("/admin/logout/")

    types = list(
        AuthEvent.objects.filter(type__startswith="admin_")
        .order_by("created_at", "id")
        .values_list("type", "user_id")
    )
    assert types == [
        ("admin_login_failed", staff.pk),
        ("admin_login_failed", None),
        ("admin_login_mfa_required", staff.pk),
        ("admin_login_succeeded", staff.pk),
        ("admin_logout", staff.pk),
    ]
    failed = AuthEvent.objects.filter(type="admin_login_failed").first()
    assert failed.details == {"factor": "pwd"}
    assert failed.ip == "127.0.0.1"


def test_a_login_without_a_second_factor_is_audited_as_such(staff_without_2fa):
    session = admin_login_password_passed(
        user=staff_without_2fa, client=ClientInfo(ip="10.0.0.1", user_agent="test")
    )

    (event,) = events_of(staff_without_2fa, "admin_login_succeeded")
    assert event.session_id == session.pk
    assert event.details == {"amr": ["pwd"]}


def test_an_admin_edit_that_rolls_back_leaves_the_cached_profile_alone(logged_in, user, committed):
    assert logged_in.get("/auth/self/").json()["email"] == user.email

    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        user.email = "rolled.back@example.com"
        user_save_by_operator(user=user, changed=["email"])
        raise RuntimeError("the admin's transaction fails after the save")

    assert logged_in.get("/auth/self/").json()["email"] == "alice@example.com"
