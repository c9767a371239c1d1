"""Service tokens: JWTs a service client gets from `POST /auth/token/` to call other
services (or authsvc's own service doors), signed by the same keys as access tokens.

`token_type` is "service", never "access", so neither kind is accepted in the other's
place. `sub` and `client_id` name the client, `aud` the one service it may be presented
to, `scope` what it may do there (space-separated, RFC 6749 §3.3), and `cv` the client's
secret version: a rotation or a disable ends every token the client holds.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from rest_framework_simplejwt.exceptions import TokenBackendError

from authsvc import clock
from tokens.backends import ANY_AUDIENCE, SERVICE_REQUIRED_CLAIMS, get_token_backend
from tokens.conf import token_settings
from tokens.exceptions import TokenInvalid
from tokens.service_clients import ClientRecord, client_record

SERVICE_TOKEN_TYPE = "service"  # noqa: S105 - a claim value, not a secret


@dataclass(frozen=True, slots=True)
class IssuedServiceToken:
    raw: str
    expires_in: int
    scope: str
    audience: str


def service_token_issue(
    *, client: ClientRecord, scopes: list[str], audience: str
) -> IssuedServiceToken:
    """A token for `client`; the caller has checked `scopes` and `audience` against it."""
    lifetime = settings.AUTHSVC_SERVICE_TOKEN_TTL_SECONDS
    now = clock.now()
    scope = " ".join(scopes)
    claims = {
        "aud": audience,
        "sub": client.client_id,
        "client_id": client.client_id,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
        "token_type": SERVICE_TOKEN_TYPE,
        "scope": scope,
        "cv": client.secret_version,
    }
    raw = get_token_backend().encode(claims)
    return IssuedServiceToken(raw=raw, expires_in=lifetime, scope=scope, audience=audience)


def service_token_verify(raw: str, *, audience=None) -> tuple[dict, ClientRecord]:
    """The claims of a live service token and its client, or TokenInvalid.

    `audience` is authsvc's own unless given (`ANY_AUDIENCE` for introspection). Live means
    the signature and claims hold and the client is still active with the same secret
    version; the returned claims' `scope` is cut down to what the client may still ask for.
    """
    try:
        claims = get_token_backend().decode(
            raw, required=SERVICE_REQUIRED_CLAIMS, audience=audience or token_settings.audience
        )
    except TokenBackendError as exc:
        raise TokenInvalid() from exc
    if claims.get("token_type") != SERVICE_TOKEN_TYPE or claims.get("client_id") != claims["sub"]:
        raise TokenInvalid()
    client = client_record(claims["sub"])
    if client is None or not client.is_active or claims.get("cv") != client.secret_version:
        raise TokenInvalid()
    granted = [s for s in claims["scope"].split() if s in client.scopes]
    claims["scope"] = " ".join(granted)
    return claims, client


__all__ = ["ANY_AUDIENCE", "IssuedServiceToken", "service_token_issue", "service_token_verify"]
