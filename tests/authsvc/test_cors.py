"""Browsers on another origin: CORS with credentials for exactly the configured origins, on
the paths a browser calls, and those origins trusted for CSRF (the contract's
AUTHSVC_CORS_ALLOWED_ORIGINS). The same-origin default sends no CORS header at all.

The Chromium test of a real cross-origin page is tests/clients/test_js_client_browser.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APP = "https://app.example.com"
EVIL = "https://evil.example.net"
# What settings/cors.py makes of AUTHSVC_CORS_ALLOWED_ORIGINS=https://app.example.com
# (tested as a whole in test_the_environment_variable_sets_cors_and_csrf_origins).
FRONT_END = override_settings(
    AUTHSVC_CORS_ALLOWED_ORIGINS=[APP], CORS_ALLOWED_ORIGINS=[APP], CSRF_TRUSTED_ORIGINS=[APP]
)


def preflight(api, path, origin, method="POST", headers="content-type,x-csrftoken"):
    return api.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


@FRONT_END
@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/auth/login/", "POST"),
        ("/auth/register/", "POST"),
        ("/auth/refresh/", "POST"),
        ("/auth/self/", "PATCH"),
        ("/auth/sessions/abc/", "DELETE"),
        ("/auth/2fa/verify/", "POST"),
    ],
)
def test_a_preflight_from_the_front_end_is_allowed_with_credentials(api, path, method):
    response = preflight(api, path, APP, method)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert method in response["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-csrftoken"} <= allowed
    assert response["Access-Control-Max-Age"] == "7200"
    assert "origin" in response["Vary"].lower()


@FRONT_END
@pytest.mark.parametrize("origin", [EVIL, "null", "https://app.example.com.evil.net"])
def test_no_other_origin_is_allowed(api, origin):
    response = preflight(api, "/auth/login/", origin)

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


@FRONT_END
@pytest.mark.parametrize(
    "path", ["/auth/token/", "/auth/verify/", "/auth/forward-auth/", "/admin/login/", "/readyz"]
)
def test_service_and_admin_doors_send_no_cors_headers(api, path):
    """No page has a reason to call them; a preflight there gets nothing to go on."""
    response = preflight(api, path, APP)

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Origin" not in api.get(path, HTTP_ORIGIN=APP)


def test_the_default_is_same_origin_only(api, user):
    assert "Access-Control-Allow-Origin" not in preflight(api, "/auth/login/", APP)

    response = api.get("/auth/csrf/", HTTP_ORIGIN=APP)
    assert "Access-Control-Allow-Origin" not in response
    # And a write from that origin is refused by CSRF's origin check, whatever its token.
    login = api.post_json(
        "/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}, HTTP_ORIGIN=APP
    )
    assert login.status_code == 403
    assert login.json()["error"] == "csrf_failed"


@FRONT_END
def test_a_cross_origin_login_self_and_logout(api, user):
    csrf = api.get("/auth/csrf/", HTTP_ORIGIN=APP)
    assert csrf["Access-Control-Allow-Origin"] == APP
    assert csrf["Access-Control-Allow-Credentials"] == "true"
    token = csrf.json()["csrfToken"]

    login = api.post_json(
        "/auth/login/",
        {"email": user.email, "password": DEFAULT_PASSWORD},
        HTTP_ORIGIN=APP,
        HTTP_X_CSRFTOKEN=token,
    )
    assert login.status_code == 200, login.json()
    assert login["Access-Control-Allow-Origin"] == APP
    assert api.cookie("access_token") and api.cookie("refresh_token")

    me = api.get("/auth/self/", HTTP_ORIGIN=APP)
    assert me.status_code == 200 and me["Access-Control-Allow-Origin"] == APP

    logout = api.post_json("/auth/logout/", HTTP_ORIGIN=APP, HTTP_X_CSRFTOKEN=token)
    assert logout.status_code == 200


@FRONT_END
def test_a_write_from_another_origin_fails_csrf_even_with_a_good_token(api, user):
    token = api.csrf()

    response = api.post_json(
        "/auth/login/",
        {"email": user.email, "password": DEFAULT_PASSWORD},
        HTTP_ORIGIN=EVIL,
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert "Access-Control-Allow-Origin" not in response


@FRONT_END
def test_errors_carry_cors_headers_and_expose_retry_after(api):
    """A page must be able to read an error's body and how long to wait."""
    response = api.get("/auth/self/", HTTP_ORIGIN=APP)

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == APP
    assert "retry-after" in response["Access-Control-Expose-Headers"].lower()


@FRONT_END
@override_settings(AUTHSVC_COOKIE_CROSS_SITE=True, AUTHSVC_COOKIE_SECURE=True)
def test_cross_site_mode_sends_every_auth_cookie_with_samesite_none(api, user):
    response = api.login(user.email)

    assert response.status_code == 200
    for name in ("access_token", "refresh_token"):
        morsel = response.cookies[name]
        assert (morsel["samesite"], morsel["secure"], morsel["httponly"]) == ("None", True, True)


def _settings_from_environment(**env) -> dict:
    """settings/cors.py and security.py as a fresh process composes them."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "AUTHSVC_", "CSRF_"))
    }
    environment.update(DJANGO_SECRET_KEY="k" * 50, DJANGO_SETTINGS_MODULE="authsvc.settings.test")
    environment.update(env)
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ('CORS_ALLOWED_ORIGINS', "
        "'CSRF_TRUSTED_ORIGINS', 'CSRF_COOKIE_SAMESITE', 'AUTHSVC_COOKIE_CROSS_SITE')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_environment_variable_sets_cors_and_csrf_origins():
    composed = _settings_from_environment(
        AUTHSVC_CORS_ALLOWED_ORIGINS="https://app.example.com/, https://admin.example.com",
        CSRF_TRUSTED_ORIGINS="https://other.example.com",
    )

    assert composed["CORS_ALLOWED_ORIGINS"] == [
        "https://app.example.com",
        "https://admin.example.com",
    ]
    assert composed["CSRF_TRUSTED_ORIGINS"] == [
        "https://other.example.com",
        "https://app.example.com",
        "https://admin.example.com",
    ]
    assert composed["CSRF_COOKIE_SAMESITE"] == "Lax"


def test_cross_site_mode_makes_the_csrf_cookie_samesite_none():
    composed = _settings_from_environment(AUTHSVC_COOKIE_CROSS_SITE="1")

    assert composed["AUTHSVC_COOKIE_CROSS_SITE"] is True
    assert composed["CSRF_COOKIE_SAMESITE"] == "None"
