"""What verification raises. Each error carries the `code` an integration answers with, in
authsvc's own error vocabulary (`{"error": code, "detail": ...}`)."""


class VerifierError(Exception):
    """Base class of everything this package raises on purpose."""

    code = "invalid_token"
    status = 401

    def __init__(self, detail: str = "The token is invalid or expired."):
        super().__init__(detail)
        self.detail = detail


class InvalidToken(VerifierError):
    """Not a token we accept: malformed, forged, expired, wrong type, issuer or audience,
    or (with a liveness check) revoked."""


class AuthsvcUnavailable(VerifierError):
    """authsvc could not answer a check this service chose to require (introspection with
    `on_unavailable="fail_closed"`, or a JWKS never fetched). Not the caller's fault: 503."""

    code = "unavailable"
    status = 503

    def __init__(self, detail: str = "The authentication service is unavailable."):
        super().__init__(detail)


class ServiceAuthError(VerifierError):
    """`POST /auth/token/` refused this service's credential or request (RFC 6749 §5.2)."""

    code = "invalid_client"

    def __init__(self, error: str, description: str = "", *, status: int = 401):
        super().__init__(description or error)
        self.code = error
        self.status = status
