"""/auth/users/: the operators' API, admin role only."""

import uuid
from datetime import timedelta

from accounts.models import User
from accounts.roles import user_roles_set
from audit.models import AuthEvent
from tests.tokens.conftest import assert_error


def test_listing_users_needs_a_login(api, db):
    assert_error(api.get("/auth/users/"), 401, "not_authenticated")


def test_listing_users_needs_the_admin_role(logged_in):
    assert_error(logged_in.get("/auth/users/"), 403, "permission_denied")


def test_staff_without_the_admin_role_is_refused_too(api, make_user):
    make_user(email="staffer@example.com", is_staff=True)
    api.login("staffer@example.com")

    assert_error(api.get("/auth/users/"), 403, "permission_denied")


def test_losing_the_admin_role_closes_the_api_at_once(admin_api, admin_user):
    assert admin_api.get("/auth/users/").status_code == 200

    user_roles_set(user=admin_user, roles=["user"])

    assert_error(admin_api.get("/auth/users/"), 403, "permission_denied")


def test_the_list_is_paginated_and_newest_first(admin_api, user, admin_user):
    response = admin_api.get("/auth/users/?page_size=1")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["previous"] is None
    assert body["next"].endswith("/auth/users/?page=2&page_size=1")
    assert [u["email"] for u in body["results"]] == [user.email]
    second = admin_api.get("/auth/users/?page=2&page_size=1").json()
    assert [u["email"] for u in second["results"]] == [admin_user.email]


def test_the_list_searches_email_and_name(admin_api, make_user):
    make_user(email="zed@example.com", name="Zed Zebra")
    make_user(email="yan@example.com", name="Yan")

    by_email = admin_api.get("/auth/users/?search=ZED@").json()["results"]
    by_name = admin_api.get("/auth/users/?search=zebra").json()["results"]

    assert [u["email"] for u in by_email] == ["zed@example.com"]
    assert [u["email"] for u in by_name] == ["zed@example.com"]


def test_a_page_past_the_end_is_not_found(admin_api):
    assert_error(admin_api.get("/auth/users/?page=9"), 404, "not_found")


def test_one_user(admin_api, user):
    response = admin_api.get(f"/auth/users/{user.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(user.pk),
        "email": "alice@example.com",
        "name": "Alice",
        "roles": [],
        "is_active": True,
        "is_staff": False,
        "email_verified": False,
        "mfa_enabled": False,
        "date_joined": response.json()["date_joined"],
        "last_login": None,
        "ban": None,
    }


def test_an_unknown_user_is_not_found(admin_api):
    assert_error(admin_api.get(f"/auth/users/{uuid.uuid4()}/"), 404, "not_found")
    assert_error(
        admin_api.post_json(f"/auth/users/{uuid.uuid4()}/ban/", {"reason": "x"}), 404, "not_found"
    )


def test_ban_through_the_api_kills_the_users_tokens_at_once(
    admin_api, logged_in, user, admin_user, clock, committed
):
    until = clock.now() + timedelta(days=1)
    assert logged_in.get("/auth/self/").status_code == 200

    with committed():
        response = admin_api.post_json(
            f"/auth/users/{user.pk}/ban/", {"reason": "spam", "until": until.isoformat()}
        )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["is_active"] is False
    assert body["ban"] == {
        "banned_at": clock.now().isoformat().replace("+00:00", "Z"),
        "until": until.isoformat().replace("+00:00", "Z"),
        "reason": "spam",
        "by": str(admin_user.pk),
    }
    assert_error(logged_in.get("/auth/self/"), 401, "invalid_token")
    assert_error(logged_in.post_json("/auth/refresh/"), 401, "invalid_token")
    event = AuthEvent.objects.get(type="user_banned", user=user)
    assert event.ip == "127.0.0.1"


def test_ban_needs_a_reason(admin_api, user):
    response = admin_api.post_json(f"/auth/users/{user.pk}/ban/", {})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert set(response.json()["fields"]) == {"reason"}
    assert User.objects.get(pk=user.pk).is_active


def test_ban_until_the_past_is_refused(admin_api, user, clock):
    past = (clock.now() - timedelta(minutes=1)).isoformat()

    response = admin_api.post_json(f"/auth/users/{user.pk}/ban/", {"reason": "x", "until": past})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"until"}


def test_an_admin_cannot_ban_themselves(admin_api, admin_user):
    response = admin_api.post_json(f"/auth/users/{admin_user.pk}/ban/", {"reason": "x"})

    assert_error(response, 409, "cannot_ban_self")
    assert admin_api.get("/auth/users/").status_code == 200


def test_ban_needs_csrf_with_cookies(admin_api, user):
    response = admin_api.post_json(
        f"/auth/users/{user.pk}/ban/", {"reason": "x"}, HTTP_X_CSRFTOKEN="wrong"
    )

    assert_error(response, 403, "csrf_failed")
    assert User.objects.get(pk=user.pk).is_active


def test_ban_and_unban_with_a_bearer_token(client_factory, admin_api, user):
    bearer = client_factory()
    auth = f"Bearer {admin_api.cookie('access_token')}"

    banned = bearer.post_json(
        f"/auth/users/{user.pk}/ban/", {"reason": "x"}, HTTP_AUTHORIZATION=auth, no_csrf=True
    )
    unbanned = bearer.post_json(
        f"/auth/users/{user.pk}/unban/", HTTP_AUTHORIZATION=auth, no_csrf=True
    )

    assert banned.status_code == 200, banned.content
    assert unbanned.status_code == 200, unbanned.content
    assert unbanned.json()["ban"] is None
    assert unbanned.json()["is_active"] is True


def test_unban_through_the_api_lets_the_user_log_in(admin_api, api, user):
    admin_api.post_json(f"/auth/users/{user.pk}/ban/", {"reason": "x"})
    assert_error(api.login(user.email), 403, "account_disabled")

    response = admin_api.post_json(f"/auth/users/{user.pk}/unban/")

    assert response.status_code == 200
    assert api.login(user.email).status_code == 200


def test_a_non_admin_cannot_ban(logged_in, make_user):
    other = make_user()

    assert_error(
        logged_in.post_json(f"/auth/users/{other.pk}/ban/", {"reason": "x"}),
        403,
        "permission_denied",
    )
    assert User.objects.get(pk=other.pk).is_active
