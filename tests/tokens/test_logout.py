import pytest
from rest_framework.test import APIClient

from sessions_store.models import Session

pytestmark = pytest.mark.django_db


def test_logout_revokes_the_session_and_clears_cookies(logged_in):
    access = logged_in.cookie("access_token")

    response = logged_in.post_json("/auth/logout/")

    assert response.status_code == 200
    assert response.json() == {"detail": "Logged out."}
    for name, path in (("access_token", "/"), ("refresh_token", "/auth/")):
        assert response.cookies[name].value == ""
        assert response.cookies[name]["max-age"] == 0
        assert response.cookies[name]["path"] == path
    session = Session.objects.get()
    assert session.revoked_at is not None and session.revoked_reason == "logout"
    # The access token is still within its `exp`, and dead all the same.
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert bearer.get("/auth/self/").json()["error"] == "invalid_token"


def test_logout_is_idempotent(logged_in, api):
    assert logged_in.post_json("/auth/logout/").status_code == 200
    assert logged_in.post_json("/auth/logout/").status_code == 200
    assert api.post_json("/auth/logout/").status_code == 200


def test_logout_with_only_the_refresh_cookie(logged_in, clock):
    clock.advance(minutes=16)  # the access token has expired
    del logged_in.cookies["access_token"]

    assert logged_in.post_json("/auth/logout/").status_code == 200

    assert Session.objects.get().revoked_at is not None


def test_logout_with_an_expired_access_token(api, user, clock):
    api.login(user.email)
    del api.cookies["refresh_token"]
    clock.advance(hours=1)

    api.post_json("/auth/logout/")

    assert Session.objects.get().revoked_at is not None


def test_logout_needs_csrf_when_cookies_are_sent(logged_in):
    response = logged_in.post_json("/auth/logout/", no_csrf=True)

    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert Session.objects.get().revoked_at is None


def test_bearer_logout_needs_no_csrf(api, user):
    api.login(user.email)
    bearer = APIClient(enforce_csrf_checks=True)
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {api.cookie('access_token')}")

    assert bearer.post("/auth/logout/").status_code == 200
    assert Session.objects.get().revoked_at is not None


def test_logout_ends_only_its_own_session(client_factory, user):
    one, two = client_factory(), client_factory()
    one.login(user.email)
    two.login(user.email)

    one.post_json("/auth/logout/")

    assert one.get("/auth/self/").status_code == 401
    assert two.get("/auth/self/").status_code == 200
