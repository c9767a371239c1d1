"""Browser-facing headers: a Content-Security-Policy on every response, strict on
everything that is not a page, and `Cache-Control: no-store` on every answer that carries a
secret."""

import re
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from django.test import Client

from tests.accounts.mfa_helpers import (
    admin_log_in,
    authenticator_for,
    enrol,
    login_challenged,
    verify,
)
from tests.accounts.test_google import google, google_login  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

STRICT = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SCRIPT_TAG = re.compile(rb"<script\b([^>]*)>", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def assert_page_policy(response) -> None:
    """The HTML policy, and a page whose every script is a file or carries the nonce."""
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    nonces = {v.removeprefix("'nonce-").removesuffix("'") for v in policy["script-src"]}
    tags = SCRIPT_TAG.findall(response.content)
    assert tags, "expected the page to load scripts"
    for attributes in tags:
        nonce = re.search(rb'nonce="([^"]+)"', attributes)
        assert b"src=" in attributes or (nonce and nonce.group(1).decode() in nonces), attributes


@pytest.fixture
def admin_browser(make_user):
    root = make_user(email="root@example.com", is_staff=True, is_superuser=True)
    client = Client()
    admin_log_in(client, root, authenticator_for(root))
    return client


def test_the_admin_login_page_has_the_page_policy_and_no_inline_script(client):
    assert_page_policy(client.get("/admin/login/"))


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/auth/group/",
        "/admin/sessions_store/session/",
        "/admin/password_change/",
    ],
)
def test_admin_pages_have_the_page_policy_and_no_inline_script(admin_browser, path):
    assert_page_policy(admin_browser.get(path))


def test_an_admin_change_page_has_no_inline_script(admin_browser, user):
    assert_page_policy(admin_browser.get(f"/admin/accounts/user/{user.pk}/change/"))


def test_the_api_docs_page_has_the_page_policy_and_no_inline_script(client):
    response = client.get("/api/docs/")

    assert_page_policy(response)
    # Its start-up script is served by this origin, which `script-src 'self'` allows.
    script = re.search(rb'<script src="(/api/docs/\?[^"]*script[^"]*)"', response.content)
    assert script, response.content
    started = client.get(script.group(1).decode().replace("&amp;", "&"))
    assert started.status_code == 200
    assert b"SwaggerUIBundle" in started.content


@pytest.mark.parametrize(
    "path",
    ["/auth/self/", "/.well-known/jwks.json", "/api/schema/", "/healthz", "/nowhere"],
)
def test_every_other_answer_has_the_strict_policy(client, path):
    assert client.get(path)["Content-Security-Policy"] == STRICT


def test_an_api_error_and_a_success_both_have_the_strict_policy(logged_in):
    assert logged_in.get("/auth/self/")["Content-Security-Policy"] == STRICT
    assert logged_in.post_json("/auth/login/", {})["Content-Security-Policy"] == STRICT


# --- no-store -------------------------------------------------------------------------


def assert_no_store(response, status: int = 200) -> None:
    assert response.status_code == status, response.content
    assert "no-store" in [d.strip() for d in response["Cache-Control"].split(",")]
    assert "public" not in response["Cache-Control"]


def test_login_register_and_refresh_are_no_store(api, user, client_factory):
    assert_no_store(api.login(user.email))
    assert_no_store(api.post_json("/auth/refresh/"))
    assert_no_store(client_factory().register(), 201)


def test_the_profile_is_no_store(logged_in):
    assert_no_store(logged_in.get("/auth/self/"))
    assert_no_store(logged_in.patch("/auth/self/", {"name": "A"}, format="json"))


def test_totp_setup_confirm_backup_codes_and_2fa_verify_are_no_store(
    logged_in, user, clock, client_factory
):
    setup = logged_in.post_json("/auth/2fa/totp/setup/")
    assert_no_store(setup)
    assert "otpauth_uri" in setup.json()

    enrolled = enrol(logged_in, clock)  # its confirm answer carries the backup codes
    regenerated = logged_in.post_json("/auth/2fa/backup-codes/", {"code": enrolled.code(clock)})
    assert_no_store(regenerated)
    assert len(regenerated.json()["backup_codes"]) == 10

    browser = client_factory()
    login_challenged(browser, user.email)
    clock.advance(seconds=30)
    assert_no_store(verify(browser, enrolled.code(clock)))


def test_totp_confirm_is_no_store(logged_in, clock):
    setup = logged_in.post_json("/auth/2fa/totp/setup/")
    secret = parse_qs(urlparse(setup.json()["otpauth_uri"]).query)["secret"][0]
    confirm = logged_in.post_json(
        "/auth/2fa/totp/confirm/", {"code": pyotp.TOTP(secret).at(clock.now())}
    )

    assert_no_store(confirm)
    assert len(confirm.json()["backup_codes"]) == 10


def test_the_google_callback_that_sets_cookies_is_no_store(api, google):  # noqa: F811
    response = google_login(api, google, email="newcomer@example.com")

    assert response.status_code == 302
    assert api.cookie("access_token")
    assert "no-store" in response["Cache-Control"]
