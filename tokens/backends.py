"""simplejwt's TokenBackend, extended for a keyring: `kid` on encode, key by `kid` on decode.

simplejwt signs with one static key and no `kid`. We keep its Token classes and error
types and only change where keys come from, and we make verification stricter: the
algorithm is pinned to the key's own, and the registered claims are required.
"""

from typing import Any

import jwt
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

from tokens.conf import token_settings
from tokens.keys import SigningKey, get_keyring

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
            return jwt.decode(
                token,
                key.public_key,
                # Pinned to the key's own algorithm: `none`, and HS256 keyed with our public
                # key (the classic algorithm confusion), fail here.
                algorithms=[key.algorithm],
                audience=token_settings.audience,
                issuer=token_settings.issuer,
                options={"require": REQUIRED_CLAIMS, "verify_exp": not allow_expired},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken("Token is expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc


_backend: KeyringTokenBackend | None = None


def get_token_backend() -> KeyringTokenBackend:
    global _backend  # noqa: PLW0603
    if _backend is None or _backend.algorithm != token_settings.algorithm:
        _backend = KeyringTokenBackend()
    return _backend
