from authsvc.errors import ServiceError


class TokenInvalid(ServiceError):
    """Missing, malformed, expired or revoked token, or a dead session."""

    code = "invalid_token"
    kind = "unauthenticated"


class TokenReused(TokenInvalid):
    """A rotated refresh token came back after the grace window: treated as theft."""
