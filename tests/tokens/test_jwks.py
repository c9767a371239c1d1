"""GET /.well-known/jwks.json: the public keys, cacheable, and usable by a real verifier."""

import re

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.tokens.conftest import JWKS_PATH, assert_error, token_parts
from tokens.keys import get_keyring, write_new_key

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_jwks_publishes_the_signing_key(keyring):
    response = APIClient().get(JWKS_PATH)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == f"public, max-age={settings.AUTHSVC_JWKS_MAX_AGE_SECONDS}"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response["ETag"])
    active = keyring.active
    assert response.json() == {
        "keys": [
            {
                "kty": "RSA",
                "n": active.public_jwk["n"],
                "e": "AQAB",
                "kid": active.kid,
                "alg": "RS256",
                "use": "sig",
            }
        ]
    }


def test_jwks_holds_no_private_key_material(use_keys):
    folder = use_keys("RS256")
    get_keyring()
    write_new_key(folder, "ES256")
    write_new_key(folder, "EdDSA")
    get_keyring().reload()

    keys = APIClient().get(JWKS_PATH).json()["keys"]

    assert sorted(k["alg"] for k in keys) == ["ES256", "EdDSA", "RS256"]
    for key in keys:
        assert not PRIVATE_JWK_MEMBERS & set(key), key
        assert key["use"] == "sig"


def test_jwks_needs_no_authentication_and_sets_no_cookies(keyring):
    response = APIClient().get(JWKS_PATH)

    assert response.status_code == 200
    assert not response.cookies


def test_matching_if_none_match_gives_304(keyring):
    client = APIClient()
    etag = client.get(JWKS_PATH)["ETag"]

    response = client.get(JWKS_PATH, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert response["Cache-Control"] == f"public, max-age={settings.AUTHSVC_JWKS_MAX_AGE_SECONDS}"


def test_stale_if_none_match_gives_the_document(keyring):
    response = APIClient().get(JWKS_PATH, HTTP_IF_NONE_MATCH='"0123456789abcdef0123456789abcdef"')

    assert response.status_code == 200
    assert [k["kid"] for k in response.json()["keys"]] == [keyring.active.kid]


def test_etag_changes_when_a_key_is_added(use_keys):
    folder = use_keys("RS256")
    keyring = get_keyring()
    client = APIClient()
    first = client.get(JWKS_PATH)

    second_key = write_new_key(folder, "RS256")
    keyring.reload()
    response = client.get(JWKS_PATH, HTTP_IF_NONE_MATCH=first["ETag"])

    assert response.status_code == 200
    assert response["ETag"] != first["ETag"]
    assert {k["kid"] for k in response.json()["keys"]} == {
        first.json()["keys"][0]["kid"],
        second_key.kid,
    }


def test_etag_is_stable_while_the_keys_are(keyring):
    client = APIClient()
    first = client.get(JWKS_PATH)
    keyring.reload()
    second = client.get(JWKS_PATH)

    assert second["ETag"] == first["ETag"]
    assert second.content == first.content


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_jwks_refuses_writes_with_a_json_405(keyring, method):
    response = getattr(APIClient(), method)(JWKS_PATH, {}, format="json")

    allowed = {m.strip() for m in response["Allow"].split(",")}
    assert "GET" in allowed
    assert method.upper() not in allowed
    # The contract: every error is the JSON error body, never HTML nor an empty text/html.
    body = assert_error(response, 405, "method_not_allowed")
    assert body["detail"]


def test_jwks_post_with_csrf_token_is_still_a_json_405(keyring, api):
    response = api.post_json(JWKS_PATH)

    assert_error(response, 405, "method_not_allowed")


# --- a real consumer ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_pyjwkclient_verifies_an_access_token(live_server, use_keys, client_factory, algorithm):
    use_keys(algorithm)
    browser = client_factory()
    registered = browser.register()
    assert registered.status_code == 201, registered.content
    token = browser.cookie("access_token")

    consumer = jwt.PyJWKClient(f"{live_server.url}{JWKS_PATH}", cache_keys=True)
    signing_key = consumer.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=[algorithm],
        audience="authsvc",
        issuer="authsvc",
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )

    assert signing_key.key_id == get_keyring().active.kid
    assert claims["sub"] == registered.json()["id"]
    assert claims["token_type"] == "access"
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, signing_key.key, algorithms=[algorithm], audience="other-service")


@pytest.mark.django_db(transaction=True)
def test_pyjwkclient_finds_a_rotated_key(live_server, use_keys, client_factory):
    folder = use_keys("RS256")
    keyring = get_keyring()
    browser = client_factory()
    assert browser.register().status_code == 201
    # cooldown_duration=0: a consumer whose refetch cooldown (30 s by default) has passed.
    consumer = jwt.PyJWKClient(
        f"{live_server.url}{JWKS_PATH}", cache_keys=True, cooldown_duration=0
    )
    old_token = browser.cookie("access_token")
    assert consumer.get_signing_key_from_jwt(old_token).key_id == keyring.active.kid

    rotated = write_new_key(folder, "RS256")
    keyring.reload()
    refreshed = browser.post_json("/auth/refresh/")
    assert refreshed.status_code == 200, refreshed.content
    new_token = browser.cookie("access_token")
    assert token_parts(new_token)[0]["kid"] == rotated.kid

    # The consumer's cached set lacks the new kid; PyJWKClient refetches on a miss.
    new_key = consumer.get_signing_key_from_jwt(new_token)
    assert new_key.key_id == rotated.kid
    jwt.decode(new_token, new_key.key, algorithms=["RS256"], audience="authsvc", issuer="authsvc")
    old_key = consumer.get_signing_key_from_jwt(old_token)
    jwt.decode(old_token, old_key.key, algorithms=["RS256"], audience="authsvc", issuer="authsvc")
