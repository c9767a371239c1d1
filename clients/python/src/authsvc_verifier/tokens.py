"""Strict JWT verification, rule for rule authsvc's own (tokens/backends.py, tokens/access.py).

One regular expression for the shape and a length bound before anything is decoded; base64url
in its one canonical spelling; JSON nesting bounded before parsing; a header of only `alg`,
`typ` and `kid`; the key found by `kid` and the algorithm pinned to that key's (so `none`,
and HS256 keyed with a public key, fail here); the signature checked by PyJWT's algorithm
objects before any claim is parsed; then the claims: `iss`, `aud`, `sub`, `jti`, `iat`,
`exp`, `token_type` required (and `sid` for a user's access token, `scope` for a service
token), `exp` with no leeway, `iat`/`nbf` at most 30 s ahead, and the token type the
caller expects.
"""

import base64
import binascii
import json
import math
import re
import uuid
from collections.abc import Callable, Collection

import jwt

from authsvc_verifier.errors import InvalidToken
from authsvc_verifier.jwks import PublicKey

# Tolerates servers whose clocks differ by a little; `exp` gets no leeway.
IAT_LEEWAY_SECONDS = 30
MAX_TOKEN_LENGTH = 8192
MAX_JSON_DEPTH = 4
ACCESS, SERVICE = "access", "service"
TOKEN_TYPES = frozenset({ACCESS, SERVICE})
REQUIRED_CLAIMS = ("iss", "aud", "sub", "jti", "iat", "exp", "token_type")
# authsvc's own lists (tokens/backends.py): a session's token names its `sid`, a service
# token its `scope` (space-separated, possibly empty).
REQUIRED_STRINGS = {ACCESS: ("sub", "sid", "jti"), SERVICE: ("sub", "jti", "scope")}

_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_HEADER_MEMBERS = frozenset({"alg", "typ", "kid"})
_ALGORITHMS = jwt.algorithms.get_default_algorithms()
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def decode(
    token,
    *,
    key_for: Callable[[str], PublicKey | None],
    issuer: str,
    audiences: dict[str, str],
    accept: Collection[str],
    now: float,
) -> dict:
    """The verified claims of `token`, or InvalidToken.

    `key_for(kid)` finds the public key; `audiences` maps each token type to the audience it
    must carry (a user's access token carries authsvc's, a service token the receiving
    service's); `accept` is the token types this caller takes.
    """
    if isinstance(token, bytes):
        token = token.decode("ascii", "replace")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not _SHAPE.fullmatch(token):
        raise InvalidToken()
    header_segment, payload_segment, signature_segment = token.split(".")
    try:
        header = _json(header_segment)
        signature = _b64url(signature_segment)
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise InvalidToken() from exc
    if not isinstance(header, dict) or not header.keys() <= _HEADER_MEMBERS:
        raise InvalidToken()
    kid = header.get("kid")
    key = key_for(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("The token is signed by an unknown key.")
    if header.get("alg") != key.algorithm:
        raise InvalidToken()
    signing_input = f"{header_segment}.{payload_segment}".encode()
    if not _ALGORITHMS[key.algorithm].verify(signing_input, key.key, signature):
        raise InvalidToken()
    try:
        # Only now: the claims of a token authsvc did not sign are never parsed.
        claims = _json(payload_segment)
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise InvalidToken() from exc
    if not isinstance(claims, dict) or not all(name in claims for name in REQUIRED_CLAIMS):
        raise InvalidToken()
    token_type = claims["token_type"]
    # The type is checked before anything type-specific: a service token is never taken
    # where a user's is expected, nor the reverse.
    if not isinstance(token_type, str) or token_type not in TOKEN_TYPES or token_type not in accept:
        raise InvalidToken("The token is not of a type accepted here.")
    if claims["iss"] != issuer or not _audience_ok(claims["aud"], audiences.get(token_type)):
        raise InvalidToken()
    if not all(isinstance(claims.get(name), str) for name in REQUIRED_STRINGS[token_type]):
        raise InvalidToken()
    exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf", 0)
    if not all(_is_time(v) for v in (exp, iat, nbf)):
        raise InvalidToken()
    if iat > now + IAT_LEEWAY_SECONDS or nbf > now + IAT_LEEWAY_SECONDS:
        raise InvalidToken("The token is issued in the future.")
    if exp <= now:
        raise InvalidToken("The token has expired.")
    if token_type == SERVICE and claims.get("client_id") != claims["sub"]:
        raise InvalidToken()  # authsvc names the client twice, and both must agree
    if token_type == ACCESS:
        try:
            claims["sid"] = str(uuid.UUID(claims["sid"]))
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidToken() from exc
    return claims


def _b64url(segment: str) -> bytes:
    decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    # One spelling per token: otherwise the unused low bits of a last character make many
    # strings of one signed token, and a cache keyed by the string sees different tokens.
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != segment.encode():
        raise ValueError("base64url segment is not in canonical form")
    return decoded


def _json(segment: str):
    raw = _b64url(segment)
    # Refused before parsing: the parser recurses per level of nesting.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _depth(raw) > MAX_JSON_DEPTH:
        raise ValueError("JSON nested too deeply")
    return json.loads(raw, parse_constant=_refuse_constant)


def _depth(raw: bytes) -> int:
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b"", raw)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity would never expire


def _is_time(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _audience_ok(aud, expected: str | None) -> bool:
    if expected is None:
        return False
    if isinstance(aud, str):
        return aud == expected
    return isinstance(aud, list) and expected in aud
