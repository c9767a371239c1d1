"""POST /auth/token/: the OAuth 2.0 client-credentials grant, as RFC 6749 §4.4 and §5.2 say."""

import base64
import hashlib

import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.db import connection
from django.db.utils import OperationalError
from django.test import override_settings
from rest_framework.test import APIClient

from audit.models import AuthEvent
from tests.conftest import basic_auth
from tests.live import LiveServer
from tests.tokens.conftest import token_parts
from tokens.models import ServiceClient
from tokens.service_clients import service_client_disable, service_client_rotate_secret

TOKEN = "/auth/token/"
GRANT = "grant_type=client_credentials"


@pytest.fixture
def http():
    return APIClient()


def form(http, body: str = GRANT, **extra):
    return http.generic(
        "POST", TOKEN, body, content_type="application/x-www-form-urlencoded", **extra
    )


def assert_oauth_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    assert response.json().keys() == {"error", "error_description"}
    assert response.json()["error"] == code
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
class TestGrant:
    def test_basic_issues_a_service_token(self, http, make_service_client):
        client, secret = make_service_client(scopes=["introspect", "billing:read"])
        response = form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))
        assert response.status_code == 200, response.content
        body = response.json()
        assert body.keys() == {"access_token", "token_type", "expires_in", "scope"}
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 300
        assert set(body["scope"].split()) == {"introspect", "billing:read"}
        assert response["Cache-Control"] == "no-store"
        assert response["Pragma"] == "no-cache"
        header, claims, _ = token_parts(body["access_token"])
        assert header["kid"]
        assert claims["token_type"] == "service"
        assert claims["sub"] == claims["client_id"] == client.client_id
        assert claims["aud"] == "authsvc"
        assert claims["exp"] - claims["iat"] == 300
        assert "sid" not in claims

    def test_client_secret_post(self, http, make_service_client):
        client, secret = make_service_client()
        response = form(http, f"{GRANT}&client_id={client.client_id}&client_secret={secret}")
        assert response.status_code == 200, response.content

    def test_scope_narrows_and_audience_is_chosen(self, http, make_service_client):
        client, secret = make_service_client(
            scopes=["a", "b"], audiences=["billing", "https://mail.internal"]
        )
        auth = basic_auth(client.client_id, secret)
        response = form(
            http, f"{GRANT}&scope=b&audience=https%3A%2F%2Fmail.internal", HTTP_AUTHORIZATION=auth
        )
        assert response.json()["scope"] == "b"
        claims = token_parts(response.json()["access_token"])[1]
        assert claims["aud"] == "https://mail.internal"
        assert claims["scope"] == "b"
        # No audience asked: the client's first.
        claims = token_parts(form(http, HTTP_AUTHORIZATION=auth).json()["access_token"])[1]
        assert claims["aud"] == "billing"
        # authsvc's own audience is always allowed.
        response = form(http, f"{GRANT}&audience=authsvc", HTTP_AUTHORIZATION=auth)
        assert token_parts(response.json()["access_token"])[1]["aud"] == "authsvc"

    @override_settings(AUTHSVC_SERVICE_TOKEN_TTL_SECONDS=60)
    def test_lifetime_setting(self, http, make_service_client):
        client, secret = make_service_client()
        response = form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))
        assert response.json()["expires_in"] == 60

    def test_issuing_is_audited_without_the_secret(self, http, make_service_client):
        client, secret = make_service_client()
        form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))
        event = AuthEvent.objects.get(type="service_token_issued")
        assert event.details["client_id"] == client.client_id
        assert secret not in str(event.details)

    def test_last_used_is_recorded(self, http, make_service_client):
        client, secret = make_service_client()
        assert client.last_used_at is None
        form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))
        client.refresh_from_db()
        assert client.last_used_at is not None
        assert client.secret_hash == hashlib.sha256(secret.encode()).hexdigest()


@pytest.mark.django_db
class TestClientAuthentication:
    def test_no_credential(self, http):
        response = form(http)
        assert_oauth_error(response, 401, "invalid_client")
        assert response["WWW-Authenticate"] == 'Basic realm="authsvc"'

    @pytest.mark.parametrize(
        "header",
        [
            "Basic",
            "Basic !!!!",
            "Basic " + base64.b64encode(b"no-colon").decode(),
            "Basic " + base64.b64encode(b":secret").decode(),
            "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
            "Basic " + "A" * 5000,
            "Bearer abc",
            "Digest username=x",
        ],
    )
    def test_malformed_authorization(self, http, header):
        response = form(http, HTTP_AUTHORIZATION=header)
        assert_oauth_error(response, 401, "invalid_client")
        assert "WWW-Authenticate" in response

    def test_wrong_secret_unknown_client_and_disabled_client_look_alike(
        self, http, make_service_client
    ):
        client, secret = make_service_client()
        wrong = form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret + "x"))
        unknown = form(http, HTTP_AUTHORIZATION=basic_auth("svc_nobody", secret))
        service_client_disable(client_id=client.client_id)
        disabled = form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))
        for response in (wrong, unknown, disabled):
            assert_oauth_error(response, 401, "invalid_client")
        assert wrong.json() == unknown.json() == disabled.json()
        assert AuthEvent.objects.filter(type="service_client_auth_failed").count() == 3

    def test_rotation_ends_the_old_secret(self, http, make_service_client):
        client, secret = make_service_client()
        new = service_client_rotate_secret(client_id=client.client_id)
        old = form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))
        assert_oauth_error(old, 401, "invalid_client")
        fresh = form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, new))
        assert fresh.status_code == 200

    def test_two_methods_at_once_is_invalid_request(self, http, make_service_client):
        client, secret = make_service_client()
        response = form(
            http,
            f"{GRANT}&client_id={client.client_id}&client_secret={secret}",
            HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
        )
        assert_oauth_error(response, 400, "invalid_request")

    def test_post_without_secret(self, http, make_service_client):
        client, _ = make_service_client()
        response = form(http, f"{GRANT}&client_id={client.client_id}")
        assert_oauth_error(response, 401, "invalid_client")


@pytest.mark.django_db
class TestRequestErrors:
    @pytest.fixture
    def auth(self, make_service_client):
        client, secret = make_service_client(scopes=["introspect"], audiences=["billing"])
        return {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}

    @pytest.mark.parametrize(
        ("body", "status", "code"),
        [
            ("", 400, "invalid_request"),
            ("grant_type=", 400, "invalid_request"),
            ("grant_type=password&username=a&password=b", 400, "unsupported_grant_type"),
            ("grant_type=authorization_code&code=x", 400, "unsupported_grant_type"),
            (f"{GRANT}&scope=admin", 400, "invalid_scope"),
            (f"{GRANT}&scope=introspect%20admin", 400, "invalid_scope"),
            (f"{GRANT}&scope=introspect%20%20introspect", 400, "invalid_scope"),
            (f"{GRANT}&audience=payroll", 400, "invalid_request"),
            (f"{GRANT}&{GRANT}", 400, "invalid_request"),
            (f"{GRANT}&scope=introspect&scope=introspect", 400, "invalid_request"),
            ("grant_type=%ff", 400, "invalid_request"),
            ("&".join(f"f{i}=1" for i in range(40)), 400, "invalid_request"),
        ],
    )
    def test_form(self, http, auth, body, status, code):
        assert_oauth_error(form(http, body, **auth), status, code)

    def test_json_body_is_refused(self, http, auth):
        response = http.post(TOKEN, {"grant_type": "client_credentials"}, format="json", **auth)
        assert_oauth_error(response, 400, "invalid_request")

    def test_oversized_body(self, http, auth):
        response = form(http, f"{GRANT}&scope={'a' * 70_000}", **auth)
        assert_oauth_error(response, 400, "invalid_request")

    def test_get_is_not_allowed(self, http):
        assert http.get(TOKEN).status_code == 405

    def test_no_csrf_needed_even_with_cookies(self, http, auth):
        http.cookies["csrftoken"] = "x" * 32
        http.cookies["access_token"] = "whatever"
        assert form(http, **auth).status_code == 200


@pytest.mark.django_db
class TestRateLimits:
    @pytest.fixture(autouse=True)
    def _tight_limits(self, settings):
        settings.AUTHSVC_RATE_LIMITS = {
            **settings.AUTHSVC_RATE_LIMITS,
            "service_token_ip": "5/m",
            "service_token_client": "3/m",
        }

    def test_per_client(self, http, make_service_client):
        client, secret = make_service_client()
        auth = basic_auth(client.client_id, secret)
        answers = [form(http, HTTP_AUTHORIZATION=auth).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        other, other_secret = make_service_client()
        # Another client from the same address still has its own budget (and the IP's).
        assert (
            form(http, HTTP_AUTHORIZATION=basic_auth(other.client_id, other_secret)).status_code
            == 200
        )

    def test_per_ip_counts_failures_too(self, http):
        answers = [
            form(http, HTTP_AUTHORIZATION=basic_auth("svc_x", "nope")).status_code for _ in range(6)
        ]
        assert answers == [401] * 5 + [429]
        response = form(http, HTTP_AUTHORIZATION=basic_auth("svc_x", "nope"))
        assert_oauth_error(response, 429, "rate_limited")
        assert int(response["Retry-After"]) >= 1

    def test_a_wrong_secret_does_not_spend_the_clients_budget(self, http, make_service_client):
        client, secret = make_service_client()
        for _ in range(3):
            form(
                http,
                HTTP_AUTHORIZATION=basic_auth(client.client_id, "wrong"),
                REMOTE_ADDR="10.0.0.9",
            )
        assert (
            form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret)).status_code == 200
        )


@pytest.mark.django_db
def test_service_token_is_not_a_user_token(http, make_service_client, logged_in):
    client, secret = make_service_client()
    token = form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret)).json()
    response = http.get("/auth/self/", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert ServiceClient.objects.count() == 1


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """The service as it runs in production, in a subprocess on the test database."""
    db = connection.settings_dict
    with LiveServer(
        database_url=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        redis_url=settings.REDIS_URL,
        keys_dir=str(tmp_path / "keys"),
        log=tmp_path / "gunicorn.log",
    ) as live:
        yield live


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_fetches_a_token(gunicorn, make_service_client, method):
    """A real OAuth 2.0 client library, unchanged, against the running service."""
    client, secret = make_service_client(scopes=["introspect", "reports"], audiences=["reports"])
    url = f"{gunicorn.base}{TOKEN}"
    with OAuth2Session(
        client.client_id, secret, token_endpoint_auth_method=method, scope="reports"
    ) as session:
        token = session.fetch_token(url, grant_type="client_credentials", audience="reports")
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "reports"
    assert token_parts(token["access_token"])[1]["aud"] == "reports"

    bad = OAuth2Session(client.client_id, "wrong", token_endpoint_auth_method=method)
    with bad, pytest.raises(OAuthError) as raised:
        bad.fetch_token(url, grant_type="client_credentials")
    assert raised.value.error == "invalid_client"


@pytest.mark.django_db
def test_a_database_outage_is_503_in_the_rfc_shape(
    http, make_service_client, settings, monkeypatch
):
    client, secret = make_service_client()

    def down(client_id):
        raise OperationalError("connection to server failed: Connection refused")

    monkeypatch.setattr("tokens.service_clients.client_record", down)
    response = form(http, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))
    assert_oauth_error(response, 503, "unavailable")
    assert response["Retry-After"] == str(settings.AUTHSVC_DB_TIMEOUT_SECONDS)
