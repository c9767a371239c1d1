"""simplejwt's TokenBackend, extended for a keyring: `kid` on encode, key by `kid` on decode.

simplejwt signs with one static key and no `kid`. We keep its Token classes and error
types and only change where keys come from, and we make verification stricter: the
algorithm is pinned to the key's own, and the registered claims are required.
"""

import base64
import binascii
import json
import math
import re
from typing import Any

import jwt
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

from authsvc import clock
from tokens.conf import token_settings
from tokens.keys import get_keyring

# Tolerates servers whose clocks differ by a little; `exp` gets no leeway.
IAT_LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ("iss", "aud", "sub", "sid", "jti", "iat", "exp", "token_type")
# A service token (tokens/service_tokens.py) names a client, not a session.
SERVICE_REQUIRED_CLAIMS = ("iss", "aud", "sub", "jti", "iat", "exp", "token_type", "scope")
# Any audience: introspection answers for service tokens minted for other services too.
ANY_AUDIENCE = object()


class KeyringTokenBackend(TokenBackend):
    def __init__(self) -> None:
        super().__init__(
            algorithm=token_settings.algorithm,
            audience=token_settings.audience,
            issuer=token_settings.issuer,
            leeway=0,
        )

    def encode(self, payload: dict[str, Any]) -> str:
        key = get_keyring().active
        # A service token names its own audience; a user's access token is for ours.
        claims = {"aud": token_settings.audience, **payload, "iss": token_settings.issuer}
        return jwt.encode(
            claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid}
        )

    def decode(
        self,
        token,
        verify: bool = True,
        *,
        allow_expired: bool = False,
        required: tuple[str, ...] = REQUIRED_CLAIMS,
        audience=None,
    ) -> dict:
        """The claims of a token we signed, or TokenBackendError.

        This runs on every authenticated request, so it does by hand what jwt.decode does,
        minus its per-character base64 check in Python (most of its cost), and stricter:
        one regular expression for the shape, a header of only the members we write, the
        algorithm pinned to the key's own (`none`, and HS256 keyed with our public key,
        the classic algorithm confusion, fail here), the signature checked by PyJWT's own
        algorithm objects before any claim is trusted. `verify` is simplejwt's switch for
        skipping the signature; we never skip it. `required` names the claims that must be
        there (and be strings, but for the times); `audience` is ours unless given.
        """
        if isinstance(token, bytes):
            token = token.decode("ascii", "replace")
        # The length is bounded before anything is decoded: a token is read from any request.
        if (
            not isinstance(token, str)
            or len(token) > MAX_TOKEN_LENGTH
            or not _SHAPE.fullmatch(token)
        ):
            raise TokenBackendError("Token is invalid")
        header_segment, payload_segment, signature_segment = token.split(".")
        try:
            header = _json(header_segment)
            signature = _b64url(signature_segment)
        except (ValueError, binascii.Error, RecursionError) as exc:
            raise TokenBackendError("Token is invalid") from exc
        if not isinstance(header, dict) or not header.keys() <= _HEADER_MEMBERS:
            raise TokenBackendError("Token is invalid")
        kid = header.get("kid")
        key = get_keyring().get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenBackendError("Token is signed by an unknown key")
        if header.get("alg") != key.algorithm:
            raise TokenBackendError("Token is invalid")
        signing_input = f"{header_segment}.{payload_segment}".encode()
        if not _ALGORITHMS[key.algorithm].verify(signing_input, key.public_key, signature):
            raise TokenBackendError("Token is invalid")
        try:
            # Only now: the claims of a token we did not sign are never parsed.
            claims = _json(payload_segment)
        except (ValueError, binascii.Error, RecursionError) as exc:
            raise TokenBackendError("Token is invalid") from exc
        if not isinstance(claims, dict) or not all(name in claims for name in required):
            raise TokenBackendError("Token is invalid")
        if claims["iss"] != token_settings.issuer or not _audience_ok(claims["aud"], audience):
            raise TokenBackendError("Token is invalid")
        if not all(isinstance(claims[name], str) for name in required if name in _STRINGS):
            raise TokenBackendError("Token is invalid")
        exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf", 0)
        if not all(_is_time(v) for v in (exp, iat, nbf)):
            raise TokenBackendError("Token times are malformed")
        now = clock.now().timestamp()
        if iat > now + IAT_LEEWAY_SECONDS or nbf > now + IAT_LEEWAY_SECONDS:
            raise TokenBackendError("Token is issued in the future")
        if exp <= now and not allow_expired:
            raise TokenBackendExpiredToken("Token is expired")
        return claims


# Far above any token we issue (a long name, email and role list stay under 2 KB), and
# above the 4 KB a browser keeps in a cookie.
MAX_TOKEN_LENGTH = 8192
# Our headers and claims are flat objects with flat lists; deeper JSON is not our token.
MAX_JSON_DEPTH = 4
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")

# Three base64url segments, nothing else (no padding, no whitespace, no detached payload).
_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# What `encode` writes; anything else (`crit`, `b64`, `jku`, ...) is not our token.
_HEADER_MEMBERS = frozenset({"alg", "typ", "kid"})
_ALGORITHMS = jwt.algorithms.get_default_algorithms()


def _b64url(segment: str) -> bytes:
    decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    # One spelling per token: the unused low bits of a last character could otherwise
    # make many strings of one signed token, and anything keyed by the token string (a
    # cache, a log search, a deny list) would see them as different tokens.
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != segment.encode():
        raise ValueError("base64url segment is not in canonical form")
    return decoded


def _json(segment: str):
    raw = _b64url(segment)
    # Refused before parsing: the parser recurses per level, and JSON nested past the
    # interpreter's recursion limit raised RecursionError, a 500 from any request header.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _depth(raw) > MAX_JSON_DEPTH:
        raise ValueError("JSON nested too deeply")
    return json.loads(raw, parse_constant=_refuse_constant)


def _depth(raw: bytes) -> int:
    """How deep the brackets outside strings nest (the input is at most MAX_TOKEN_LENGTH)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b"", raw)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity would never expire


def _is_time(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_STRINGS = frozenset({"sub", "sid", "jti", "token_type", "scope"})


def _audience_ok(aud, expected=None) -> bool:
    if expected is ANY_AUDIENCE:
        return isinstance(aud, str) and bool(aud)
    expected = expected or token_settings.audience
    if isinstance(aud, str):
        return aud == expected
    return isinstance(aud, list) and expected in aud


_backend: KeyringTokenBackend | None = None


def get_token_backend() -> KeyringTokenBackend:
    global _backend
    if _backend is None or _backend.algorithm != token_settings.algorithm:
        _backend = KeyringTokenBackend()
    return _backend
