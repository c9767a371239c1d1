from authsvc.errors import ServiceError


class TokenInvalid(ServiceError):
    """Missing, malformed, expired or revoked token, or a dead session."""

    code = "invalid_token"
    kind = "unauthenticated"


class TokenReused(TokenInvalid):
    """A rotated refresh token came back after the grace window: treated as theft."""


class InvalidClient(ServiceError):
    """A service credential that is missing, unknown, wrong or disabled (RFC 6749 §5.2)."""

    code = "invalid_client"
    kind = "unauthenticated"
    www_authenticate = 'Basic realm="authsvc"'


class InsufficientScope(ServiceError):
    """A service credential without the scope this endpoint needs (RFC 6750 §3.1)."""

    code = "insufficient_scope"
    kind = "forbidden"
