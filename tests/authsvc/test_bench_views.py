"""The bench's references (authsvc/bench_views.py): each does the least its endpoint could
and still answers as `make bench` expects, so a reference row never measures an error page.
Mounted here, beside the service's routes, by this module's URLconf: the service mounts
them only with AUTHSVC_BENCH."""

import pytest
from django.urls import include, path

from authsvc.bench_views import LeastLogin, LeastRefresh, LeastSelf
from tests.conftest import DEFAULT_PASSWORD

urlpatterns = [
    path("least/login", LeastLogin.as_view()),
    path("least/self", LeastSelf.as_view()),
    path("least/refresh", LeastRefresh.as_view()),
    path("", include("authsvc.urls")),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def test_least_login_checks_the_password(api, user):
    right = api.post_json("/least/login", {"email": user.email, "password": DEFAULT_PASSWORD})
    wrong = api.post_json("/least/login", {"email": user.email, "password": "not it at all"})
    nobody = api.post_json("/least/login", {"email": "no@example.com", "password": "x"})

    assert (right.status_code, wrong.status_code, nobody.status_code) == (200, 401, 401)


def test_least_self_checks_the_token_and_the_live_session(logged_in, user):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {logged_in.cookie('access_token')}"}

    alive = logged_in.get("/least/self", **headers)
    assert alive.status_code == 200
    assert alive.json() == {"id": str(user.pk)}

    assert logged_in.post_json("/auth/logout/").status_code == 200
    assert logged_in.get("/least/self", **headers).status_code == 401


def test_least_refresh_rotates_once(logged_in):
    first = logged_in.cookie("refresh_token")

    rotated = logged_in.post_json("/least/refresh")
    assert rotated.status_code == 200
    second = logged_in.cookie("refresh_token")
    assert second and second != first
    assert logged_in.cookie("access_token")

    # The rotated token is spent; its successor is the next link of the chain.
    logged_in.cookies["refresh_token"] = first
    assert logged_in.post_json("/least/refresh").status_code == 401
    logged_in.cookies["refresh_token"] = second
    assert logged_in.post_json("/least/refresh").status_code == 200
