"""Helpers for the token tests: an isolated keys folder, JWT surgery, error-body checks."""

import base64
import hashlib
import json
from pathlib import Path

import jwt
import pytest
from django.test import override_settings

from tokens.keys import Keyring, get_keyring

JWKS_PATH = "/.well-known/jwks.json"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_parts(token: str) -> tuple[dict, dict, bytes]:
    """Header, claims and signature of a JWT, none of them verified."""
    header, payload, signature = token.split(".")
    return (
        json.loads(b64url_decode(header)),
        json.loads(b64url_decode(payload)),
        b64url_decode(signature),
    )


def json_segment(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def rfc7638_thumbprint(jwk: dict) -> str:
    """Written out from RFC 7638 section 3, independently of tokens.keys."""
    required = {
        "RSA": ("e", "kty", "n"),
        "EC": ("crv", "kty", "x", "y"),
        "OKP": ("crv", "kty", "x"),
    }
    members = ",".join(f'"{name}":"{jwk[name]}"' for name in required[jwk["kty"]])
    return b64url(hashlib.sha256(("{" + members + "}").encode()).digest())


def sign(claims: dict, *, key=None, kid: str | None = None, algorithm: str | None = None) -> str:
    """Sign claims with the active signing key (or `key`), the way an issuer would."""
    active = get_keyring().active
    return jwt.encode(
        claims,
        key if key is not None else active.private_key,
        algorithm=algorithm or active.algorithm,
        headers={"kid": kid if kid is not None else active.kid},
    )


def assert_error(response, status: int, code: str) -> dict:
    """The contract's error body: exactly `error` (this code) and a human `detail` string."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()
    assert set(body) == {"error", "detail"}, body
    assert body["error"] == code, body
    assert isinstance(body["detail"], str), body
    assert body["detail"]
    return body


@pytest.fixture
def use_keys(tmp_path):
    """Point the service at a fresh keys folder (and algorithm) for the rest of the test.

    `get_keyring` caches one keyring per (folder, algorithm), so a new folder is a new
    keyring. Returns the folder; it does not exist until the keyring creates it.
    """
    overrides = []

    def use(algorithm: str = "RS256", name: str = "keys") -> Path:
        folder = tmp_path / name
        override = override_settings(AUTHSVC_KEYS_DIR=str(folder), AUTHSVC_JWT_ALGORITHM=algorithm)
        override.enable()
        overrides.append(override)
        return folder

    yield use
    for override in reversed(overrides):
        override.disable()


@pytest.fixture
def keyring(use_keys) -> Keyring:
    """The keyring of a fresh RS256 folder."""
    use_keys("RS256")
    return get_keyring()
