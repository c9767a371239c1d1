"""Service clients and requests for the session-claims tests."""

import base64

import jwt
import pytest

from sessions_store.models import Session
from tokens.service_clients import clear_cache, client_record, service_client_create
from tokens.service_tokens import service_token_issue

CLAIMS_SCOPE = "sessions:claims"


class ServiceCaller:
    """A service client that calls authsvc's service doors with a token or HTTP Basic."""

    def __init__(self, client, *, scopes: list[str], audience: str | None = None):
        self.http = client
        record, self.secret = _create(scopes)
        self.client_id = record.client_id
        self.token = service_token_issue(
            client=record, scopes=scopes, audience=audience or _own_audience()
        ).raw

    def bearer(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}

    def basic(self, secret: str | None = None) -> dict:
        raw = f"{self.client_id}:{secret or self.secret}".encode()
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}

    def put_claims(self, sid, body=None, *, auth: dict | None = None, **extra):
        return self.http.put(
            f"/auth/sessions/{sid}/claims/",
            body if body is not None else {},
            format="json",
            **(auth if auth is not None else self.bearer()),
            **extra,
        )

    def introspect(self, token: str):
        return self.http.post("/auth/verify/", {"token": token}, format="json", **self.basic())


def _own_audience() -> str:
    from tokens.conf import token_settings

    return token_settings.audience


_names = iter(range(10**6))


def _create(scopes: list[str]):
    client, secret = service_client_create(
        name=f"authz-{next(_names)}", scopes=scopes, audiences=["https://orders.example"]
    )
    return client_record(client.client_id), secret


@pytest.fixture
def service_factory(db):
    from rest_framework.test import APIClient

    clear_cache()

    def make(scopes=(CLAIMS_SCOPE,), audience=None) -> ServiceCaller:
        return ServiceCaller(APIClient(), scopes=list(scopes), audience=audience)

    yield make
    clear_cache()


@pytest.fixture
def authz(service_factory) -> ServiceCaller:
    """An authorization service holding a `sessions:claims` token for authsvc."""
    return service_factory((CLAIMS_SCOPE, "introspect"))


def session_id() -> str:
    return str(Session.objects.get().pk)


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})
