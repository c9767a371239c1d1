"""The Django middleware, the DRF authentication and permission classes, and the WSGI
middleware, each with a good token, a bad one, none, and authsvc unreachable."""

import io
import json

import integration_urls
import pytest
from conftest import access_claims, dead_url, service_claims
from django.test import Client, override_settings

from authsvc_verifier import Introspector, Verifier, basic_credential
from authsvc_verifier.django import get_verifier
from authsvc_verifier.wsgi import ENVIRON_KEY, VerifierWSGIMiddleware


@pytest.fixture
def verifier(authsvc, key):
    get_verifier.cache_clear()
    integration_urls.current["verifier"] = Verifier(authsvc.base, service_audience="orders")
    yield integration_urls.current["verifier"]
    get_verifier.cache_clear()


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


MIDDLEWARE = override_settings(MIDDLEWARE=["authsvc_verifier.django.VerifierMiddleware"])


@MIDDLEWARE
def test_the_middleware_sets_the_principal(verifier, key):
    claims = access_claims()
    response = Client().get("/whoami/", **bearer(key.sign(claims)))
    assert response.json() == {"sub": claims["sub"]}
    assert Client().get("/whoami/").json() == {"sub": None}


@MIDDLEWARE
def test_the_middleware_answers_401_json_for_a_bad_token(verifier, key):
    for headers in (
        bearer(key.sign(access_claims(exp=1))),
        bearer(key.sign(service_claims())),  # a service token where a user's is expected
        {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
        bearer("garbage"),
    ):
        response = Client().get("/whoami/", **headers)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@MIDDLEWARE
def test_the_middleware_answers_503_when_authsvc_cannot_be_asked(authsvc, key):
    get_verifier.cache_clear()
    integration_urls.current["verifier"] = Verifier(
        authsvc.base, mode="introspection",
        introspector=Introspector(dead_url(), credential=basic_credential("a", "b")),
    )
    response = Client().get("/whoami/", **bearer(key.sign(access_claims())))
    assert (response.status_code, response.json()["error"]) == (503, "unavailable")
    get_verifier.cache_clear()


def test_drf_authentication_and_roles(verifier, key):
    claims = access_claims(roles=["user"])
    response = Client().get("/user/", **bearer(key.sign(claims)))
    assert response.json() == {"sub": claims["sub"], "sid": claims["sid"]}
    response = Client().get("/user/", **bearer(key.sign(access_claims(roles=["guest"]))))
    assert response.status_code == 403
    response = Client().get("/user/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    response = Client().get("/user/", **bearer(key.sign(access_claims(iss="x"))))
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is invalid or expired."


def test_drf_permissions_combine(verifier, key):
    admin = access_claims(roles=["admin"], permissions=[])
    refunder = access_claims(roles=["user"], permissions=["orders:refund"])
    neither = access_claims(roles=["user"], permissions=["orders:read"])
    assert Client().get("/refund/", **bearer(key.sign(admin))).status_code == 200
    assert Client().get("/refund/", **bearer(key.sign(refunder))).status_code == 200
    assert Client().get("/refund/", **bearer(key.sign(neither))).status_code == 403


def test_drf_service_tokens_and_scope(verifier, key):
    response = Client().get("/service/", **bearer(key.sign(service_claims())))
    assert response.json() == {"client_id": "svc_billing"}
    narrow = service_claims(scope="orders:write")
    response = Client().get("/service/", **bearer(key.sign(narrow)))
    assert (response.status_code, response.json()["detail"]) == (
        403, "The service token lacks a required scope."
    )
    # A user's token is not a service token, whatever its claims say.
    user = access_claims(scope="orders:read", aud="orders")
    assert Client().get("/service/", **bearer(key.sign(user))).status_code == 401


def wsgi_call(app, headers):
    seen, status = {}, []

    def inner(environ, start_response):
        seen["principal"] = environ[ENVIRON_KEY]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.input": io.BytesIO(), **headers}
    body = b"".join(app(inner)(environ, lambda s, h: status.append((s, dict(h)))))
    return status[0], body, seen.get("principal")


def test_the_wsgi_middleware(verifier, key):
    app = lambda inner: VerifierWSGIMiddleware(inner, verifier)  # noqa: E731
    claims = access_claims()
    (status, _), body, principal = wsgi_call(app, bearer(key.sign(claims)))
    assert (status, body, principal.subject) == ("200 OK", b"ok", claims["sub"])
    (status, _), body, principal = wsgi_call(app, {})
    assert (status, principal) == ("200 OK", None)
    (status, headers), body, principal = wsgi_call(app, bearer(key.sign(access_claims(exp=1))))
    assert status == "401 Unauthorized" and principal is None
    assert json.loads(body)["error"] == "invalid_token"
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_verify_request_headers_with_any_mapping(verifier, key):
    claims = access_claims()
    principal = verifier.verify_request_headers({"authorization": f"bearer {key.sign(claims)}"})
    assert principal.subject == claims["sub"]
    assert verifier.verify_request_headers({"Accept": "*/*"}) is None
