"""The largest claim set sessions_store.claims accepts still fits the access token in a
cookie a browser keeps (4096 bytes for the whole `Set-Cookie` value): a longer cookie is
dropped silently and the user is logged out at the next request."""

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings

from sessions_store.claims import (
    ATTRIBUTE_KEY_MAX_LENGTH,
    CLAIMS_MAX_BYTES,
    PERMISSIONS_MAX,
    claims_json_size,
)
from sessions_store.models import Session
from sessions_store.services import session_claims_set
from tokens.access import access_token_verify
from tokens.cookies import ACCESS_COOKIE

pytestmark = pytest.mark.django_db

BROWSER_COOKIE_MAX_BYTES = 4096
# The longest address the User model takes (254), every part at its own limit.
LONG_EMAIL = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
# Six roles, about 120 bytes in the token.
LONG_ROLES = ["user", "admin", "support", "billing-manager", "auditor", "release-manager"]
LONG_HOST = "accounts-and-identity.example-corporation.com"


def _largest_claims() -> tuple[list[str], dict]:
    """64 permissions and attributes as deep as accepted, exactly CLAIMS_MAX_BYTES."""
    permissions = [f"svc{i:02}:read" for i in range(PERMISSIONS_MAX)]
    attributes = {
        "k" * ATTRIBUTE_KEY_MAX_LENGTH: {"teams": ["a", "b"]},
        "flags": [{"beta": True, "n": 1.5}],
        "pad": "",
    }
    filled = claims_json_size(permissions) + claims_json_size(attributes)
    attributes["pad"] = "v" * (CLAIMS_MAX_BYTES - filled)
    assert claims_json_size(permissions) + claims_json_size(attributes) == CLAIMS_MAX_BYTES
    return permissions, attributes


@pytest.fixture
def long_names(tmp_path):
    """The largest signature authsvc makes (its own RS256 key, 2048 bits: 342 characters),
    and long issuer, audience and cookie domain."""
    with override_settings(
        AUTHSVC_KEYS_DIR=str(tmp_path / "keys"),
        AUTHSVC_JWT_ALGORITHM="RS256",
        AUTHSVC_JWT_ISSUER=f"https://auth.{LONG_HOST}",
        AUTHSVC_JWT_AUDIENCE=f"https://api.{LONG_HOST}",
        AUTHSVC_COOKIE_DOMAIN=f".{LONG_HOST}",
        AUTHSVC_COOKIE_SECURE=True,
    ):
        yield


def test_the_largest_claims_keep_the_access_cookie_under_4096_bytes(long_names, api, make_user):
    user = make_user(email=LONG_EMAIL, name="N" * 150)
    user.groups.set([Group.objects.get_or_create(name=name)[0] for name in LONG_ROLES])
    assert api.login(LONG_EMAIL).status_code == 200
    permissions, attributes = _largest_claims()
    session_claims_set(
        sid=Session.objects.get().pk,
        permissions=permissions,
        attributes=attributes,
        client_id="svc_test",
    )

    response = api.post_json("/auth/refresh/")

    assert response.status_code == 200, response.content
    cookie = response.cookies[ACCESS_COOKIE]
    set_cookie = cookie.OutputString()
    assert "Secure" in set_cookie and f"Domain=.{LONG_HOST}" in set_cookie
    assert len(set_cookie.encode()) <= BROWSER_COOKIE_MAX_BYTES, len(set_cookie)
    claims = access_token_verify(cookie.value)
    assert claims["permissions"] == permissions
    assert claims["attrs"] == attributes
    assert sorted(claims["roles"]) == sorted(LONG_ROLES)
    assert claims["sid"] == str(Session.objects.get().pk)
    # And the token is one the service itself accepts.
    assert api.get("/auth/self/").json()["email"] == LONG_EMAIL
