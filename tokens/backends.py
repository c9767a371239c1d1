"""simplejwt's TokenBackend, extended for a keyring: `kid` on encode, key by `kid` on decode.

simplejwt signs with one static key and no `kid`. We keep its Token classes and error
types and only change where keys come from, and we make verification stricter: the
algorithm is pinned to the key's own, and the registered claims are required.
"""

from typing import Any

import jwt
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

from authsvc import clock
from tokens.conf import token_settings
from tokens.keys import SigningKey, get_keyring

# Tolerates servers whose clocks differ by a little; `exp` gets no leeway.
IAT_LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "token_type"]


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
        claims = {**payload, "iss": token_settings.issuer, "aud": token_settings.audience}
        return jwt.encode(
            claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid}
        )

    def get_verifying_key(self, token) -> SigningKey:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        kid = header.get("kid")
        key = get_keyring().get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenBackendError("Token is signed by an unknown key")
        return key

    def decode(self, token, verify: bool = True, *, allow_expired: bool = False) -> dict:
        # `verify` is simplejwt's switch for skipping the signature; we never skip it.
        key = self.get_verifying_key(token)
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                # Pinned to the key's own algorithm: `none`, and HS256 keyed with our public
                # key (the classic algorithm confusion), fail here.
                algorithms=[key.algorithm],
                audience=token_settings.audience,
                issuer=token_settings.issuer,
                # Times are checked below against authsvc.clock, the one source of "now".
                options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        exp, iat = claims["exp"], claims["iat"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat)):
            raise TokenBackendError("Token times are malformed")
        now = clock.now().timestamp()
        if iat > now + IAT_LEEWAY_SECONDS:
            raise TokenBackendError("Token is issued in the future")
        if exp <= now and not allow_expired:
            raise TokenBackendExpiredToken("Token is expired")
        return claims


_backend: KeyringTokenBackend | None = None


def get_token_backend() -> KeyringTokenBackend:
    global _backend
    if _backend is None or _backend.algorithm != token_settings.algorithm:
        _backend = KeyringTokenBackend()
    return _backend
