"""Every failure is the contract's JSON, whatever the request got wrong."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_malformed_json_is_a_400(api):
    response = api.post("/auth/login/", data="{not json", content_type="application/json")

    assert assert_error(response, 400, "invalid_request")["detail"] == "The body is not valid JSON."


@pytest.mark.parametrize("raw", ["[1, 2]", '"string"', "null", "NaN", "[" * 60000])
def test_json_that_is_not_an_object_is_a_400(api, raw):
    response = api.post("/auth/login/", data=raw, content_type="application/json")

    assert_error(response, 400, "invalid_request")


def test_non_utf8_body_is_a_400(api):
    response = api.post("/auth/login/", data=b"\xff\xfe\xfa", content_type="application/json")

    assert_error(response, 400, "invalid_request")


def test_wrong_content_type_is_a_415(api):
    response = api.post(
        "/auth/login/", data="email=a", content_type="application/x-www-form-urlencoded"
    )

    assert_error(response, 415, "unsupported_media_type")


def test_oversized_body_is_a_413(api):
    body = '{"email": "a@example.com", "password": "' + "x" * 70000 + '"}'

    response = api.post("/auth/login/", data=body, content_type="application/json")

    assert_error(response, 413, "payload_too_large")


def test_unknown_path_is_a_json_404(api):
    assert_error(api.get("/auth/nope/"), 404, "not_found")
    assert_error(api.get("/nope"), 404, "not_found")
    # The root is the pages' (pages/urls.py), not a 404 any more.
    assert api.get("/")["Location"] == "/login/"


def test_missing_trailing_slash_is_a_404_not_a_redirect(api):
    assert_error(api.post_json("/auth/login"), 404, "not_found")


def test_wrong_method_is_a_json_405(api):
    assert_error(api.get("/auth/login/"), 405, "method_not_allowed")
    assert_error(api.post_json("/.well-known/jwks.json"), 405, "method_not_allowed")


def test_unexpected_exception_is_a_json_500_without_a_trace(api, user, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("accounts.services.user_login", explode)

    response = api.login(user.email)

    body = assert_error(response, 500, "server_error")
    assert "secret internals" not in response.content.decode()
    assert set(body) == {"error", "detail"}


def test_django_level_500_is_json(settings):
    from authsvc.errors import server_error

    response = server_error(None)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"


def test_csrf_endpoint_sets_the_cookie(api):
    response = api.get("/auth/csrf/")

    assert response.status_code == 200
    token = response.json()["csrfToken"]
    assert token and response.cookies["csrftoken"].value
    assert not response.cookies["csrftoken"]["httponly"]


def test_bearer_only_requests_are_not_subject_to_csrf(user):
    client = APIClient(enforce_csrf_checks=True)

    response = client.post("/auth/login/", {"email": user.email, "password": "x"}, format="json")

    # Without a Bearer header a cookie-less POST still needs CSRF (login CSRF).
    assert_error(response, 403, "csrf_failed")


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"],
)
@pytest.mark.parametrize("path", ["/auth/login/", "/auth/logout/", "/auth/refresh/"])
def test_a_form_body_is_a_415_before_csrf_parses_it(client_factory, path, content_type):
    # Found by the schema fuzzer: CSRF's form-token lookup parsed the body, and a multipart
    # one without a boundary was a 500.
    api = client_factory()
    response = api.post(path, data=b'{"email": "a@example.com"}', content_type=content_type)

    assert_error(response, 415, "unsupported_media_type")


VIEWSET_WRITES = [
    ("post", "/auth/logout-all/"),
    ("delete", "/auth/sessions/00000000-0000-0000-0000-000000000000/"),
    ("post", "/auth/users/00000000-0000-0000-0000-000000000000/ban/"),
    ("post", "/auth/users/00000000-0000-0000-0000-000000000000/unban/"),
]


@pytest.mark.parametrize(("method", "path"), VIEWSET_WRITES)
def test_the_viewsets_refuse_a_form_body_like_the_views(client_factory, method, path):
    response = client_factory().generic(
        method.upper(), path, data=b"reason=x", content_type="application/x-www-form-urlencoded"
    )

    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(("method", "path"), VIEWSET_WRITES)
def test_the_viewsets_check_csrf_before_authentication(client_factory, method, path):
    api = client_factory()
    api.cookies["access_token"] = "not-a-jwt"  # a cookie a hostile page's request would carry

    response = api.generic(method.upper(), path, data=b"{}", no_csrf=True)

    # Not invalid_token: a forged write learns nothing about the session.
    assert_error(response, 403, "csrf_failed")


@pytest.mark.parametrize("depth", [900, 3000, 30000])
@pytest.mark.parametrize(
    "path",
    ["/auth/login/", "/auth/register/", "/auth/password/reset/", "/auth/email/verify/"],
)
def test_deeply_nested_json_body_is_a_400(api, path, depth):
    # Nested past the recursion limit, the parser raised RecursionError; just under it, the
    # value reached the serializers. Either way: the contract's 400, never a 500.
    nested = "[" * depth + "]" * depth
    for body in (nested, '{"email": ' + nested + ', "password": "x"}'):
        response = api.post(path, data=body, content_type="application/json")

        assert_error(response, 400, "invalid_request")
