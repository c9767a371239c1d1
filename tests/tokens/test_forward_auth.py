"""GET (any method) /auth/forward-auth/: the gateway's question, answered with the Django test
client. The same over a real nginx is tests/tokens/test_gateway_nginx.py."""

import pytest
from django.contrib.auth.models import Group

from sessions_store.backends.base import Snapshot
from tests.conftest import basic_auth
from tests.tokens.conftest import assert_error, sign, token_parts
from tokens.authentication import SessionPrincipal
from tokens.views_gateway import identity_headers

URL = "/auth/forward-auth/"
SAFE = ["GET", "HEAD", "OPTIONS", "TRACE"]
UNSAFE = ["POST", "PUT", "PATCH", "DELETE", "PROPFIND"]
WWW_AUTHENTICATE = 'Bearer realm="authsvc"'

pytestmark = pytest.mark.django_db


def ask(client, method="GET", *, csrf=False, **headers):
    """The gateway's request; the CSRF header only when asked for."""
    if csrf:
        headers["HTTP_X_CSRFTOKEN"] = client.csrf()
    return client.generic(method, URL, no_csrf=True, **headers)


def assert_passed(response, user, client):
    assert response.status_code == 200, response.content
    assert response.content == b""
    assert "Content-Type" not in response
    assert response["Cache-Control"] == "no-store"
    access = client.cookie("access_token")
    claims = token_parts(access)[1]
    assert response["X-Auth-User"] == str(user.id) == claims["sub"]
    assert response["X-Auth-Session"] == claims["sid"]
    assert response["X-Auth-Roles"] == ",".join(claims["roles"])
    assert response["X-Auth-Email"] == user.email


def assert_refused(response, status, code):
    assert not any(name.startswith("X-Auth-") for name in response.headers)
    if response.request["REQUEST_METHOD"] == "HEAD":
        assert response.status_code == status
        return None
    return assert_error(response, status, code)


@pytest.mark.parametrize("method", SAFE + UNSAFE)
def test_without_credentials_every_method_is_401_not_authenticated(api, method):
    response = ask(api, method)

    assert_refused(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


@pytest.mark.parametrize("method", SAFE)
def test_a_safe_request_with_the_cookie_passes_without_a_csrf_token(logged_in, user, method):
    assert_passed(ask(logged_in, method), user, logged_in)


@pytest.mark.parametrize("method", UNSAFE)
def test_an_unsafe_request_with_the_cookie_needs_the_csrf_token(logged_in, user, method):
    assert_refused(ask(logged_in, method), 403, "csrf_failed")
    assert_passed(ask(logged_in, method, csrf=True), user, logged_in)


@pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_METHOD", "HTTP_X_ORIGINAL_METHOD"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_original_method_comes_from_the_gateways_header(logged_in, user, header, method):
    assert_refused(ask(logged_in, "GET", **{header: method}), 403, "csrf_failed")
    assert_passed(ask(logged_in, "GET", csrf=True, **{header: method}), user, logged_in)
    assert_passed(ask(logged_in, "GET", **{header: "GET"}), user, logged_in)


@pytest.mark.parametrize("garbage", ["G3T", "get", "GET, POST", "", "GET\tPOST", "BREW"])
def test_a_method_we_do_not_know_is_unsafe(logged_in, user, garbage):
    assert_refused(ask(logged_in, HTTP_X_FORWARDED_METHOD=garbage), 403, "csrf_failed")
    assert_passed(ask(logged_in, csrf=True, HTTP_X_FORWARDED_METHOD=garbage), user, logged_in)


def test_one_unsafe_method_named_anywhere_makes_the_request_unsafe(logged_in):
    # A client can add the header its gateway does not set; it cannot make a write safe.
    forged = {"HTTP_X_FORWARDED_METHOD": "GET", "HTTP_X_ORIGINAL_METHOD": "POST"}
    assert_refused(ask(logged_in, **forged), 403, "csrf_failed")
    forged = {"HTTP_X_FORWARDED_METHOD": "GET", "HTTP_X_ORIGINAL_METHOD": "GET"}
    assert_refused(ask(logged_in, "POST", **forged), 403, "csrf_failed")


def test_the_original_requests_accept_header_changes_nothing(client_factory, logged_in, user):
    assert_passed(ask(logged_in, HTTP_ACCEPT="image/png"), user, logged_in)
    refused = ask(client_factory(), HTTP_ACCEPT="text/html")
    assert_refused(refused, 401, "not_authenticated")


def test_an_untrusted_origin_fails_the_check_even_with_the_token(logged_in):
    response = ask(
        logged_in, csrf=True, HTTP_X_FORWARDED_METHOD="POST", HTTP_ORIGIN="https://evil.example"
    )

    body = assert_refused(response, 403, "csrf_failed")
    assert "Origin" in body["detail"]


def test_the_token_comes_from_the_header_never_from_a_form_body(logged_in, user):
    token = logged_in.csrf()
    body = f"csrfmiddlewaretoken={token}"
    form = "application/x-www-form-urlencoded"

    # The original request's body is not ours: no 415, and it holds no token for us.
    refused = logged_in.generic("POST", URL, body, content_type=form, no_csrf=True)
    assert_refused(refused, 403, "csrf_failed")
    passed = logged_in.generic("POST", URL, body, content_type=form, HTTP_X_CSRFTOKEN=token)
    assert_passed(passed, user, logged_in)


def test_a_bearer_token_alone_needs_no_csrf_token(client_factory, logged_in, user):
    access = logged_in.cookie("access_token")
    gateway = client_factory()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {access}", "HTTP_X_FORWARDED_METHOD": "DELETE"}

    response = ask(gateway, "POST", **auth)

    assert response.status_code == 200, response.content
    assert response["X-Auth-Session"] == token_parts(access)[1]["sid"]
    # With the cookie beside it, a hostile page could have sent the request: CSRF applies.
    assert_refused(ask(logged_in, "POST", **auth), 403, "csrf_failed")


def test_after_logout_the_same_cookie_is_401_at_once(client_factory, logged_in):
    access = logged_in.cookie("access_token")
    assert logged_in.post_json("/auth/logout/").status_code == 200
    replay = client_factory()
    replay.cookies["access_token"] = access

    assert_refused(ask(replay), 401, "invalid_token")
    bearer = ask(client_factory(), HTTP_AUTHORIZATION=f"Bearer {access}")
    assert_refused(bearer, 401, "invalid_token")


@pytest.mark.parametrize("token_type", ["service", "refresh", None])
def test_a_token_whose_type_is_not_access_is_refused(client_factory, logged_in, token_type):
    claims = token_parts(logged_in.cookie("access_token"))[1]
    forged = {key: value for key, value in claims.items() if key != "token_type"}
    if token_type:
        forged["token_type"] = token_type
    gateway = client_factory()

    response = ask(gateway, HTTP_AUTHORIZATION=f"Bearer {sign(forged)}")

    assert_refused(response, 401, "invalid_token")
    # The untouched token passes, so it was the type that was refused.
    assert ask(gateway, HTTP_AUTHORIZATION=f"Bearer {sign(claims)}").status_code == 200


@pytest.mark.parametrize("audience", [None, "billing"])
def test_a_real_service_token_is_refused(client_factory, make_service_client, audience):
    client, secret = make_service_client(scopes=["introspect"], audiences=["billing"])
    form = "grant_type=client_credentials" + (f"&audience={audience}" if audience else "")
    issued = client_factory().generic(
        "POST",
        "/auth/token/",
        form,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert issued.status_code == 200, issued.content
    service_token = issued.json()["access_token"]

    response = ask(client_factory(), HTTP_AUTHORIZATION=f"Bearer {service_token}")

    assert_refused(response, 401, "invalid_token")


def test_roles_a_header_cannot_carry_are_left_out(api, user):
    for name in ("support,admin", "evil\r\nX-Auth-User: someone", "ops", "user"):
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    api.login(user.email)

    response = ask(api)

    assert response.status_code == 200
    assert response["X-Auth-Roles"] == "ops,user"
    assert response["X-Auth-User"] == str(user.id)


def _principal(**changes) -> SessionPrincipal:
    fields = {
        "sid": "6b1c1a52-4d0c-4a9a-9bb0-3f7f0f0c2e11",
        "user_id": "0f8e5d0a-7c44-4a65-9d2b-0b7d2b8e9a10",
        "email": "a@example.com",
        "name": "A",
        "roles": ["user"],
        "email_verified": True,
        "mfa_enabled": False,
        "date_joined": "2024-01-01T00:00:00Z",
        "amr": ["pwd"],
    }
    return SessionPrincipal(Snapshot(**{**fields, **changes}), {})


@pytest.mark.parametrize(
    "email", ["a@example.com\r\nX-Auth-User: x", "a@example.com\n", "\u00e5@example.com"]
)
def test_a_value_that_is_not_printable_ascii_never_becomes_a_header(email):
    headers = identity_headers(_principal(email=email))

    assert "X-Auth-Email" not in headers
    assert headers["X-Auth-User"] == "0f8e5d0a-7c44-4a65-9d2b-0b7d2b8e9a10"
    assert identity_headers(_principal())["X-Auth-Email"] == "a@example.com"
