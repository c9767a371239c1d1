"""POST /auth/verify/: RFC 7662 introspection of users' access tokens and service tokens."""

import pytest
from django.db.utils import OperationalError
from rest_framework.test import APIClient

from accounts.bans import user_ban
from accounts.roles import user_roles_set
from tests.conftest import basic_auth
from tests.tokens.conftest import json_segment, token_parts
from tokens.service_clients import (
    service_client_disable,
    service_client_rotate_secret,
    service_client_update,
)

VERIFY = "/auth/verify/"
TOKEN = "/auth/token/"


@pytest.fixture
def http():
    return APIClient()


@pytest.fixture
def introspector(make_service_client):
    client, secret = make_service_client(scopes=["introspect"], audiences=["billing"])
    return {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}


def introspect(http, token, auth, *, as_form=False):
    if as_form:
        return http.generic(
            "POST",
            VERIFY,
            f"token={token}",
            content_type="application/x-www-form-urlencoded",
            **auth,
        )
    return http.post(VERIFY, {"token": token}, format="json", **auth)


def service_token(http, client, secret, **form):
    body = "&".join(["grant_type=client_credentials", *(f"{k}={v}" for k, v in form.items())])
    response = http.generic(
        "POST",
        TOKEN,
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.mark.django_db
class TestUserTokens:
    @pytest.mark.parametrize("as_form", [False, True])
    def test_a_live_token_is_active(self, http, logged_in, user, introspector, as_form):
        token = logged_in.cookie("access_token")
        response = introspect(http, token, introspector, as_form=as_form)
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        body = response.json()
        claims = token_parts(token)[1]
        assert body["active"] is True
        assert body["token_type"] == "access"
        assert body["sub"] == str(user.pk)
        assert body["sid"] == claims["sid"]
        assert body["roles"] == claims["roles"]
        assert body["exp"] == claims["exp"] and body["iat"] == claims["iat"]
        assert body["auth_time"] == claims["auth_time"]
        assert body["amr"] == ["pwd"]
        assert body["email"] == user.email

    def test_logout_makes_it_inactive_at_once(self, http, logged_in, introspector):
        token = logged_in.cookie("access_token")
        assert logged_in.post_json("/auth/logout/").status_code == 200
        assert introspect(http, token, introspector).json() == {"active": False}

    def test_ban_makes_it_inactive(self, http, logged_in, user, introspector):
        token = logged_in.cookie("access_token")
        user_ban(user=user, reason="abuse")
        assert introspect(http, token, introspector).json() == {"active": False}

    def test_expired(self, http, logged_in, introspector, clock):
        token = logged_in.cookie("access_token")
        clock.advance(seconds=901)
        assert introspect(http, token, introspector).json() == {"active": False}

    def test_roles_are_the_sessions_current_ones(self, http, logged_in, user, introspector):
        token = logged_in.cookie("access_token")
        user_roles_set(user=user, roles=["user", "admin"])
        assert set(introspect(http, token, introspector).json()["roles"]) == {"user", "admin"}

    @pytest.mark.parametrize(
        "token",
        ["", "garbage", "a.b.c", "x" * 9000, "eyJ0eXAiOiJKV1QifQ.e30.sig"],
    )
    def test_garbage_is_inactive(self, http, introspector, token):
        if not token:
            assert introspect(http, token, introspector).status_code == 400
            return
        response = introspect(http, token, introspector)
        assert response.status_code == 200
        assert response.json() == {"active": False}

    def test_forged_and_refresh_tokens_are_inactive(self, http, logged_in, introspector):
        token = logged_in.cookie("access_token")
        header, _, signature = token.split(".")
        claims = token_parts(token)[1]
        forged = ".".join([header, json_segment({**claims, "roles": ["admin"]}), signature])
        assert introspect(http, forged, introspector).json() == {"active": False}
        refresh = logged_in.cookie("refresh_token")
        assert introspect(http, refresh, introspector).json() == {"active": False}


@pytest.mark.django_db
class TestServiceTokens:
    def test_active_for_any_audience_it_was_minted_for(
        self, http, make_service_client, introspector
    ):
        client, secret = make_service_client(scopes=["reports"], audiences=["billing"])
        token = service_token(http, client, secret, audience="billing")
        body = introspect(http, token, introspector).json()
        assert body["active"] is True
        assert body["token_type"] == "service"
        assert body["client_id"] == body["sub"] == client.client_id
        assert body["aud"] == "billing"
        assert body["scope"] == "reports"
        assert "sid" not in body

    def test_rotation_and_disable_end_its_tokens(self, http, make_service_client, introspector):
        client, secret = make_service_client(scopes=["reports"])
        token = service_token(http, client, secret)
        new = service_client_rotate_secret(client_id=client.client_id)
        assert introspect(http, token, introspector).json() == {"active": False}
        token = service_token(http, client, new)
        service_client_disable(client_id=client.client_id)
        assert introspect(http, token, introspector).json() == {"active": False}

    def test_a_removed_scope_leaves_the_token(self, http, make_service_client, introspector):
        client, secret = make_service_client(scopes=["reports", "export"])
        token = service_token(http, client, secret)
        service_client_update(client_id=client.client_id, scopes=["reports"])
        assert introspect(http, token, introspector).json()["scope"] == "reports"


@pytest.mark.django_db
class TestCallerAuthentication:
    def test_no_credential(self, http, logged_in):
        response = introspect(http, logged_in.cookie("access_token"), {})
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response["WWW-Authenticate"] == 'Basic realm="authsvc"'

    def test_a_user_token_is_not_a_service_credential(self, http, logged_in):
        token = logged_in.cookie("access_token")
        response = introspect(http, token, {"HTTP_AUTHORIZATION": f"Bearer {token}"})
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")

    def test_a_browsers_cookies_are_not_a_credential(self, logged_in):
        response = logged_in.post_json(VERIFY, {"token": logged_in.cookie("access_token")})
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")

    def test_service_token_for_authsvc_with_the_scope(self, http, make_service_client, logged_in):
        client, secret = make_service_client(scopes=["introspect"])
        token = service_token(http, client, secret, audience="authsvc")
        response = introspect(
            http, logged_in.cookie("access_token"), {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        )
        assert response.json()["active"] is True

    def test_service_token_for_another_audience_is_refused(
        self, http, make_service_client, logged_in
    ):
        client, secret = make_service_client(scopes=["introspect"], audiences=["billing"])
        token = service_token(http, client, secret, audience="billing")
        response = introspect(
            http, logged_in.cookie("access_token"), {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        )
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")

    def test_without_the_scope(self, http, make_service_client, logged_in):
        client, secret = make_service_client(scopes=["reports"])
        auth = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}
        response = introspect(http, logged_in.cookie("access_token"), auth)
        assert (response.status_code, response.json()["error"]) == (403, "insufficient_scope")
        token = service_token(http, client, secret)
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        response = introspect(http, logged_in.cookie("access_token"), bearer)
        assert response.status_code == 403

    def test_wrong_secret(self, http, make_service_client, logged_in):
        client, _ = make_service_client()
        auth = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, "nope")}
        response = introspect(http, logged_in.cookie("access_token"), auth)
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


@pytest.mark.django_db
class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            ("{}", "application/json"),
            ('{"token": 5}', "application/json"),
            ('["token"]', "application/json"),
            ("{bad json", "application/json"),
            ("token=a&token=b", "application/x-www-form-urlencoded"),
            ("", "application/x-www-form-urlencoded"),
        ],
    )
    def test_invalid_request(self, http, introspector, body, content_type):
        response = http.generic("POST", VERIFY, body, content_type=content_type, **introspector)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"

    def test_other_content_type(self, http, introspector):
        response = http.generic("POST", VERIFY, "token", content_type="text/plain", **introspector)
        assert response.status_code == 415

    def test_oversized(self, http, introspector):
        response = http.post(VERIFY, {"token": "a" * 70_000}, format="json", **introspector)
        assert response.status_code == 413

    def test_get(self, http, introspector):
        assert http.get(VERIFY, **introspector).status_code == 405


@pytest.mark.django_db
def test_a_database_outage_is_503_not_inactive(
    http, logged_in, introspector, settings, monkeypatch
):
    """A caller that cannot be checked gets 503 unavailable, never an answer about the token."""

    def down(client_id):
        raise OperationalError("connection to server failed: Connection refused")

    monkeypatch.setattr("tokens.service_clients.client_record", down)
    response = introspect(http, logged_in.cookie("access_token"), introspector)
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert response["Retry-After"] == str(settings.AUTHSVC_DB_TIMEOUT_SECONDS)
