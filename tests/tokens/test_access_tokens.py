"""Access JWTs: what they carry, and every way a bad one must be refused."""

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from sessions_store.models import Session
from tests.tokens.conftest import (
    assert_error,
    b64url,
    b64url_decode,
    json_segment,
    rfc7638_thumbprint,
    sign,
    token_parts,
)
from tokens.access import access_token_issue
from tokens.backends import REQUIRED_CLAIMS
from tokens.keys import get_keyring, public_jwk

CONTRACT_CLAIMS = {"iss", "aud", "sub", "sid", "jti", "iat", "exp", "token_type", "roles"}
WWW_AUTHENTICATE = 'Bearer realm="authsvc"'


def bearer_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def assert_invalid_token(response) -> None:
    assert_error(response, 401, "invalid_token")
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


@pytest.fixture
def token(logged_in) -> str:
    """A valid access token of `user`'s live session."""
    return logged_in.cookie("access_token")


@pytest.fixture
def claims(token) -> dict:
    return token_parts(token)[1]


# --- what a token carries -------------------------------------------------------------


def test_access_token_claims(db, api, clock):
    registered = api.register(email="claims@example.com")
    assert registered.status_code == 201, registered.content
    token = api.cookie("access_token")
    user_id = registered.json()["id"]
    session = Session.objects.get(user_id=user_id)

    header, claims, _ = token_parts(token)

    assert header == {"alg": "RS256", "kid": get_keyring().active.kid, "typ": "JWT"}
    iat = int(clock.current.timestamp())
    assert claims == {
        "iss": "authsvc",
        "aud": "authsvc",
        "sub": user_id,
        "sid": str(session.pk),
        "jti": claims["jti"],
        "iat": iat,
        "exp": iat + 900,
        "token_type": "access",
        "roles": ["user"],
        "email_verified": False,
        "amr": ["pwd"],
        # OIDC's: when the session proved a factor, here the registration's login.
        "auth_time": iat,
    }
    assert set(claims) >= CONTRACT_CLAIMS
    assert str(uuid.UUID(claims["sub"])) == claims["sub"]
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 32
    # The token is properly signed by the published key, not merely well-formed.
    verified = jwt.decode(
        token,
        get_keyring().active.public_key,
        algorithms=["RS256"],
        audience="authsvc",
        issuer="authsvc",
    )
    assert verified == claims


def test_access_cookie_max_age_matches_the_token_lifetime(db, api):
    api.register()
    morsel = api.cookies["access_token"]
    _, claims, _ = token_parts(morsel.value)

    assert int(morsel["max-age"]) == claims["exp"] - claims["iat"] == 900


def test_every_token_has_its_own_jti_and_session(api, user):
    api.login(user.email)
    first = token_parts(api.cookie("access_token"))[1]
    api.login(user.email)
    second = token_parts(api.cookie("access_token"))[1]

    assert first["jti"] != second["jti"]
    assert first["sid"] != second["sid"]
    assert first["sub"] == second["sub"] == str(user.pk)


def test_roles_claim_lists_the_users_groups(api, user):
    # "admin" comes from the accounts data migration; other roles are created by operators.
    user.groups.add(Group.objects.create(name="support"), Group.objects.get(name="admin"))

    api.login(user.email)

    assert token_parts(api.cookie("access_token"))[1]["roles"] == ["admin", "support"]


# --- a valid token works --------------------------------------------------------------


def test_cookie_token_reads_the_profile(logged_in, user):
    response = logged_in.get("/auth/self/")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(user.pk),
        "email": "alice@example.com",
        "name": "Alice",
        "roles": [],
        "email_verified": False,
        "mfa_enabled": False,
        "date_joined": user.date_joined.isoformat(),
    }


def test_resigned_unchanged_claims_are_accepted(claims):
    # The control for the forged tokens below: `sign` itself makes good tokens.
    assert bearer_client(sign(claims)).get("/auth/self/").status_code == 200


# --- every bad token is 401 invalid_token ---------------------------------------------


def _tampered_payload(token: str, claims: dict) -> str:
    header, _, signature = token.split(".")
    return ".".join([header, json_segment({**claims, "roles": ["admin"]}), signature])


def _tampered_signature(token: str, claims: dict) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[len(raw) // 2] ^= 0x01  # a middle byte: no base64 padding bits to hide the change
    return ".".join([header, payload, b64url(bytes(raw))])


def _alg_none(token: str, claims: dict) -> str:
    header = {"alg": "none", "kid": get_keyring().active.kid, "typ": "JWT"}
    return f"{json_segment(header)}.{json_segment(claims)}."


def _hs256_with_public_key(token: str, claims: dict) -> str:
    # The classic algorithm confusion: HMAC keyed with the (public) verification key. Built
    # by hand because PyJWT refuses a PEM key as an HMAC secret.
    active = get_keyring().active
    secret = active.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": active.kid, "typ": "JWT"}
    signing_input = f"{json_segment(header)}.{json_segment(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def _stranger_key_with_its_own_kid(token: str, claims: dict) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = rfc7638_thumbprint(public_jwk(stranger.public_key(), "RS256"))
    return sign(claims, key=stranger, kid=kid)


def _stranger_key_with_our_kid(token: str, claims: dict) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return sign(claims, key=stranger)


def _unknown_kid(token: str, claims: dict) -> str:
    return sign(claims, kid="no-such-key")


def _no_kid(token: str, claims: dict) -> str:
    active = get_keyring().active
    return jwt.encode(claims, active.private_key, algorithm="RS256")


def _resigned(**changes):
    def forge(token: str, claims: dict) -> str:
        return sign({**claims, **changes})

    return forge


def _without(name: str):
    def forge(token: str, claims: dict) -> str:
        return sign({k: v for k, v in claims.items() if k != name})

    return forge


FORGERIES = {
    "tampered_payload": _tampered_payload,
    "tampered_signature": _tampered_signature,
    "alg_none": _alg_none,
    "hs256_keyed_with_public_key": _hs256_with_public_key,
    "unknown_key_and_kid": _stranger_key_with_its_own_kid,
    "unknown_key_with_our_kid": _stranger_key_with_our_kid,
    "unknown_kid": _unknown_kid,
    "no_kid": _no_kid,
    "wrong_iss": _resigned(iss="someone-else"),
    "wrong_aud": _resigned(aud="other-service"),
    "refresh_token_type": _resigned(token_type="refresh"),
    "unknown_sid": _resigned(sid=str(uuid.uuid4())),
    "another_users_sub": _resigned(sub=str(uuid.uuid4())),
    "not_yet_issued": _resigned(iat=2**31 - 1, exp=2**31 + 899),
    **{f"missing_{name}": _without(name) for name in REQUIRED_CLAIMS},
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_forged_bearer_token_is_refused(token, claims, forgery):
    forged = FORGERIES[forgery](token, claims)
    assert forged != token

    assert_invalid_token(bearer_client(forged).get("/auth/self/"))


@pytest.mark.parametrize("forgery", ["tampered_payload", "alg_none", "wrong_aud", "missing_sid"])
def test_forged_cookie_token_is_refused(logged_in, token, claims, forgery):
    logged_in.cookies["access_token"] = FORGERIES[forgery](token, claims)

    assert_invalid_token(logged_in.get("/auth/self/"))


@pytest.mark.parametrize("sid", ["not-a-uuid", "", ["a", "b"], {"id": 1}, None])
def test_sid_that_is_not_a_uuid_is_refused(claims, sid):
    # Only a holder of our key could mint this, but it must still fail closed, not 500.
    assert_invalid_token(bearer_client(sign({**claims, "sid": sid})).get("/auth/self/"))


def test_garbage_bearer_token_is_refused(logged_in):
    for garbage in ("not.a.jwt", "abc", "a.b.c.d", "eyJhbGciOiJub25lIn0..", "%%%.%%%.%%%"):
        assert_invalid_token(bearer_client(garbage).get("/auth/self/"))


def test_expired_token_is_refused(api, user, clock):
    # Issued an hour ago: it expired 45 minutes ago. Its session is alive.
    clock.current -= timedelta(hours=1)
    assert api.login(user.email).status_code == 200
    expired = api.cookie("access_token")
    clock.current += timedelta(hours=1)
    _, claims, _ = token_parts(expired)
    assert claims["exp"] < int(clock.current.timestamp())
    session = Session.objects.get(pk=claims["sid"])
    assert session.is_alive(clock.current)

    assert_invalid_token(api.get("/auth/self/"))
    assert_invalid_token(bearer_client(expired).get("/auth/self/"))
    # The control: a fresh token of the same session is accepted.
    fresh, _ = access_token_issue(
        user_id=str(user.pk), sid=claims["sid"], roles=[], email_verified=False, amr=["pwd"]
    )
    assert bearer_client(fresh).get("/auth/self/").status_code == 200


def test_token_expires_exactly_at_exp(token, claims, clock):
    client = bearer_client(token)
    clock.current = datetime.fromtimestamp(claims["exp"] - 1, tz=UTC)
    assert client.get("/auth/self/").status_code == 200

    clock.current = datetime.fromtimestamp(claims["exp"], tz=UTC)

    assert_invalid_token(client.get("/auth/self/"))


def test_access_lifetime_follows_the_setting(api, user, settings):
    settings.AUTHSVC_ACCESS_TTL_SECONDS = 60
    api.login(user.email)
    _, claims, _ = token_parts(api.cookie("access_token"))

    assert claims["exp"] - claims["iat"] == 60
    assert int(api.cookies["access_token"]["max-age"]) == 60


# --- Bearer header --------------------------------------------------------------------


def test_bearer_token_reads_the_profile_without_cookies(token, user):
    response = bearer_client(token).get("/auth/self/")

    assert response.status_code == 200
    assert response.json()["id"] == str(user.pk)


def test_bearer_patch_needs_no_csrf(
    token, user, client_factory, django_capture_on_commit_callbacks
):
    # A CSRF-enforcing client with no cookies at all and no X-CSRFToken header.
    client = client_factory()
    assert not client.cookies

    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            "/auth/self/",
            {"name": "Bob"},
            format="json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            no_csrf=True,
        )

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Bob"
    user.refresh_from_db()
    assert user.name == "Bob"
    assert bearer_client(token).get("/auth/self/").json()["name"] == "Bob"


def test_plain_api_client_bearer_patch(token, user):
    response = bearer_client(token).patch("/auth/self/", {"name": "Carol"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": str(user.pk),
        "email": "alice@example.com",
        "name": "Carol",
        "roles": [],
        "email_verified": False,
        "mfa_enabled": False,
        "date_joined": user.date_joined.isoformat(),
    }


def test_lowercase_bearer_scheme_is_bearer_auth_too(token, client_factory):
    # RFC 7235: the auth scheme is case-insensitive. Authentication accepts `bearer`, so the
    # CSRF exemption for header-only requests must accept it too.
    client = client_factory()
    assert client.get("/auth/self/", HTTP_AUTHORIZATION=f"bearer {token}").status_code == 200

    response = client.patch(
        "/auth/self/",
        {"name": "Dan"},
        format="json",
        HTTP_AUTHORIZATION=f"bearer {token}",
        no_csrf=True,
    )

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("cookie", ["access_token", "refresh_token"])
def test_bearer_patch_with_an_auth_cookie_needs_csrf(logged_in, token, user, cookie):
    # Any auth cookie means a browser may have sent this on its own: CSRF applies.
    for other in {"access_token", "refresh_token"} - {cookie}:
        del logged_in.cookies[other]

    response = logged_in.patch(
        "/auth/self/",
        {"name": "Mallory"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        no_csrf=True,
    )

    assert_error(response, 403, "csrf_failed")
    user.refresh_from_db()
    assert user.name == "Alice"


def test_bearer_patch_with_an_auth_cookie_and_csrf_is_accepted(logged_in, token):
    response = logged_in.patch(
        "/auth/self/", {"name": "Erin"}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Erin"


def test_cookie_patch_without_csrf_is_refused(logged_in, user):
    response = logged_in.patch("/auth/self/", {"name": "Mallory"}, format="json", no_csrf=True)

    assert_error(response, 403, "csrf_failed")
    user.refresh_from_db()
    assert user.name == "Alice"


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "JWT eyJ.eyJ.sig",
        "Bearer a b",
    ],
)
def test_malformed_authorization_header_is_invalid_token(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert_invalid_token(client.get("/auth/self/"))


def test_no_credentials_is_not_authenticated(db):
    response = APIClient().get("/auth/self/")

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_empty_access_cookie_is_not_authenticated(db):
    client = APIClient()
    client.cookies["access_token"] = ""

    assert_error(client.get("/auth/self/"), 401, "not_authenticated")


# --- the hot path ---------------------------------------------------------------------


def test_self_does_no_sql_while_the_session_is_cached(logged_in, django_assert_num_queries):
    assert logged_in.get("/auth/self/").status_code == 200  # caches the snapshot if needed

    with django_assert_num_queries(0):
        response = logged_in.get("/auth/self/")

    assert response.status_code == 200


def test_login_caches_the_session(
    api, user, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert api.login(user.email).status_code == 200

    with django_assert_num_queries(0):
        response = api.get("/auth/self/")

    assert response.status_code == 200


def test_bearer_self_does_no_sql_while_the_session_is_cached(token, django_assert_num_queries):
    client = bearer_client(token)
    assert client.get("/auth/self/").status_code == 200

    with django_assert_num_queries(0):
        assert client.get("/auth/self/").status_code == 200


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [900, 2000, 100_000])
@pytest.mark.parametrize("segment", ["header", "payload"])
@pytest.mark.parametrize("transport", ["bearer", "cookie"])
def test_deeply_nested_token_json_is_invalid_token_not_500(
    logged_in, token, claims, depth, segment, transport
):
    # JSON nested past the interpreter's recursion limit raised RecursionError: a 500.
    header, payload, signature = token.split(".")
    if segment == "header":
        header = b64url(('{"alg":"RS256","kid":' + _nested(depth) + "}").encode())
    else:
        payload = b64url(('{"sub":' + _nested(depth) + "}").encode())
    forged = f"{header}.{payload}.{signature}"
    if transport == "bearer":
        response = bearer_client(forged).get("/auth/self/")
    else:
        logged_in.cookies["access_token"] = forged
        response = logged_in.get("/auth/self/")

    assert_invalid_token(response)


def test_an_oversized_token_is_invalid_token(logged_in, token):
    header, payload, signature = token.split(".")
    bloated = f"{header}.{payload}{'A' * 20_000}.{signature}"

    assert_invalid_token(bearer_client(bloated).get("/auth/self/"))


@pytest.mark.parametrize("depth", [5, 900, 2000])
def test_a_deeply_nested_payload_signed_with_our_key_is_invalid_token(token, claims, depth):
    # Only a holder of our key could sign it; it must still fail closed, not 500.
    key = get_keyring().active
    header = json_segment({"alg": key.algorithm, "kid": key.kid})
    body = json.dumps({**claims, "sub": "@"}, separators=(",", ":"))
    payload = b64url(body.replace('"@"', _nested(depth)).encode())
    algorithm = jwt.algorithms.get_default_algorithms()[key.algorithm]
    signature = b64url(algorithm.sign(f"{header}.{payload}".encode(), key.private_key))

    assert_invalid_token(bearer_client(f"{header}.{payload}.{signature}").get("/auth/self/"))


def test_brackets_inside_claim_strings_are_not_nesting(token, claims):
    resigned = sign({**claims, "jti": '[[[[[{{{{{ \\" ]]]]]'})

    assert bearer_client(resigned).get("/auth/self/").status_code == 200
