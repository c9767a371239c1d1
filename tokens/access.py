"""Access JWTs: issued for a session snapshot, verified strictly."""

import uuid
from datetime import datetime

from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.tokens import AccessToken

from authsvc import clock
from tokens.backends import get_token_backend
from tokens.conf import token_settings
from tokens.exceptions import TokenInvalid


class SessionAccessToken(AccessToken):
    """simplejwt's AccessToken, signed by our keyring and tied to a session (`sid`).

    Only issues tokens: verification is `access_token_verify`, which skips building this
    object on every request.
    """

    token_type = "access"  # noqa: S105 - a claim value, not a secret

    @property
    def lifetime(self):
        return token_settings.access_ttl

    @property
    def token_backend(self):
        return get_token_backend()


def access_token_issue(
    *,
    user_id: str,
    sid: str,
    roles: list[str],
    email_verified: bool,
    amr: list[str],
    auth_time: int | None = None,
    permissions: list[str] | None = None,
    attributes: dict | None = None,
) -> tuple[str, datetime]:
    token = SessionAccessToken()
    issued_at = clock.now()
    token.set_iat(at_time=issued_at)
    token.set_exp(from_time=issued_at)
    token["sub"] = user_id
    token["sid"] = sid
    token["roles"] = roles
    token["email_verified"] = email_verified
    token["amr"] = amr
    if auth_time:
        # OIDC's claim: when the session last proved a factor, in Unix seconds. Left out
        # only when unknown (a snapshot cached before the claim existed), never guessed.
        token["auth_time"] = auth_time
    # An authorization service's claims for the session (sessions_store.claims bounds them
    # so the token still fits in its cookie); left out when there are none.
    if permissions:
        token["permissions"] = permissions
    if attributes:
        token["attrs"] = attributes
    return str(token), issued_at + token_settings.access_ttl


def access_token_verify(raw: str) -> dict:
    """The claims of a valid access token, or TokenInvalid. Does not consult the session.

    The backend checks signature, algorithm, `iss`, `aud`, the required claims, `iat` and
    `exp`; what simplejwt's AccessToken adds on top is the type check below, so every
    request skips building that object.
    """
    try:
        claims = get_token_backend().decode(raw)
    except TokenBackendError as exc:
        raise TokenInvalid() from exc
    if claims.get("token_type") != SessionAccessToken.token_type:
        raise TokenInvalid()
    # Only we sign tokens, but a verifier does not trust its own past: the session id must
    # be the UUID form the store and the database expect.
    try:
        claims["sid"] = str(uuid.UUID(claims["sid"]))
    except (TypeError, ValueError, AttributeError) as exc:
        raise TokenInvalid() from exc
    return claims


def access_token_session_id(raw: str) -> str | None:
    """The `sid` of a correctly signed access token, even an expired one (for logout)."""
    try:
        claims = get_token_backend().decode(raw, allow_expired=True)
    except TokenBackendError:
        return None
    if claims.get("token_type") != "access":
        return None
    try:
        return str(uuid.UUID(str(claims.get("sid"))))
    except ValueError:
        return None
