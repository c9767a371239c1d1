"""The verifier: strict local checks, then the liveness check the service chose.

    verifier = Verifier("https://auth.example.com", mode="introspection",
                        introspector=Introspector(..., credential=basic_credential(id, secret)))
    principal = verifier.verify(token)                  # a user's access token
    principal = verifier.verify(token, accept={"service"})   # a service token for us

Modes (how a session revoked at authsvc stops counting here):
- `signature`: signature and claims only. No call to authsvc per request, but a token of a
  session that logged out, or a banned user, is accepted until its `exp` (the access
  lifetime, 15 minutes by default).
- `introspection`: every token not in the short cache is asked about at `/auth/verify/`.
- `feed`: the revocation feed decides when it covers the token; otherwise introspection.
"""

import time
from collections.abc import Callable, Collection, Mapping
from typing import Literal

from authsvc_verifier import tokens
from authsvc_verifier.errors import InvalidToken
from authsvc_verifier.feed import RevocationFeed
from authsvc_verifier.introspection import Introspector
from authsvc_verifier.jwks import JWKSCache
from authsvc_verifier.principal import Principal

Mode = Literal["signature", "introspection", "feed"]
MODES = ("signature", "introspection", "feed")


class Verifier:
    def __init__(
        self,
        base_url: str,
        *,
        mode: Mode = "signature",
        issuer: str = "authsvc",
        audience: str = "authsvc",
        service_audience: str | None = None,
        jwks: JWKSCache | None = None,
        introspector: Introspector | None = None,
        feed: RevocationFeed | None = None,
        clock: Callable[[], float] = time.time,
    ):
        """`audience` is the one users' access tokens carry (authsvc's
        `AUTHSVC_JWT_AUDIENCE`); `service_audience` is this service's own, the one service
        tokens meant for it carry (None: it takes no service tokens)."""
        if mode not in MODES:
            raise ValueError(f"mode is one of {MODES}")
        if mode in ("introspection", "feed") and introspector is None:
            raise ValueError(f"mode {mode!r} needs an introspector (feed mode falls back to it)")
        if mode == "feed" and feed is None:
            raise ValueError("mode 'feed' needs a feed")
        self.base_url = base_url.rstrip("/")
        self.mode = mode
        self.issuer = issuer
        self.audiences = {tokens.ACCESS: audience}
        if service_audience is not None:
            self.audiences[tokens.SERVICE] = service_audience
        self.jwks = jwks or JWKSCache(self.base_url + "/.well-known/jwks.json")
        self.introspector = introspector
        self.feed = feed
        self._clock = clock

    def verify(self, token: str, *, accept: Collection[str] = (tokens.ACCESS,)) -> Principal:
        """The principal of a valid, live token of one of the `accept`ed types, or
        InvalidToken; AuthsvcUnavailable when a check this service requires cannot run."""
        if not set(accept) <= tokens.TOKEN_TYPES:
            raise ValueError(f"accept is a subset of {sorted(tokens.TOKEN_TYPES)}")
        claims = tokens.decode(
            token,
            key_for=self.jwks.get,
            issuer=self.issuer,
            audiences=self.audiences,
            accept=accept,
            now=self._clock(),
        )
        if self.mode == "signature":
            return Principal.from_claims(claims, checked_by="signature")
        if self.mode == "feed" and claims["token_type"] == tokens.ACCESS:
            issued_at = float(claims["iat"])
            if self.feed.covers(issued_at):
                if self.feed.is_revoked(
                    user_id=claims["sub"], session_id=claims["sid"], issued_at=issued_at
                ):
                    raise InvalidToken("The token's session has been revoked.")
                return Principal.from_claims(claims, checked_by="feed")
        # Introspection, or the feed's fallback: tokens it does not cover, and service
        # tokens (the feed carries no events about service clients).
        live = self.introspector.check(token, claims)
        checked_by = "introspection" if live is not None else "signature"
        return Principal.from_claims(claims, live=live, checked_by=checked_by)

    def verify_request_headers(
        self, headers: Mapping[str, str], *, accept: Collection[str] = (tokens.ACCESS,)
    ) -> Principal | None:
        """The principal of the request's `Authorization: Bearer` token; None when the
        request carries no Authorization header; InvalidToken for any other scheme or a
        token that fails. `headers` is any mapping (case-insensitive or not) or a WSGI
        environ."""
        token = bearer_token(headers)
        return None if token is None else self.verify(token, accept=accept)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("HTTP_AUTHORIZATION")
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise InvalidToken("Send the token as `Authorization: Bearer <token>`.")
    return token
