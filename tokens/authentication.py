"""DRF authentication by access JWT (Bearer header or cookie) plus a live session."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from sessions_store.backends.base import Snapshot
from sessions_store.selectors import session_snapshot
from tokens.access import access_token_verify
from tokens.cookies import ACCESS_COOKIE
from tokens.exceptions import TokenInvalid


class SessionPrincipal:
    """The authenticated user as the session snapshot knows them: no database row needed."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, snapshot: Snapshot, claims: dict):
        self.snapshot = snapshot
        self.claims = claims
        self.id = self.pk = snapshot.user_id
        self.sid = snapshot.sid
        self.roles = snapshot.roles

    def __str__(self) -> str:
        return self.snapshot.email


def bearer_token(request) -> str | None:
    """The token of an `Authorization: Bearer` header (scheme case-insensitive, RFC 7235)."""
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def raw_access_token(request) -> str | None:
    if request.META.get("HTTP_AUTHORIZATION"):
        token = bearer_token(request)
        if token is None:
            raise exceptions.AuthenticationFailed(code="invalid_token")
        return token
    return request.COOKIES.get(ACCESS_COOKIE) or None


def access_token_principal(raw: str) -> SessionPrincipal:
    """The signed-in user an access token stands for, or TokenInvalid. The API's
    authentication and the pages (pages/auth.py) both authenticate through here."""
    claims = access_token_verify(raw)
    # The signature proves who issued the token; only the session says it still counts.
    snapshot = session_snapshot(claims["sid"])
    if snapshot is None or snapshot.user_id != claims["sub"]:
        raise TokenInvalid()
    return SessionPrincipal(snapshot, claims)


class AccessTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = raw_access_token(request)
        if raw is None:
            return None
        try:
            principal = access_token_principal(raw)
        except TokenInvalid as exc:
            raise exceptions.AuthenticationFailed(code="invalid_token") from exc
        return principal, principal.claims

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="authsvc"'
