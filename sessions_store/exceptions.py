from authsvc.errors import ServiceError


class SessionNotFound(ServiceError):
    code = "not_found"
    kind = "not_found"


class InvalidClaims(ServiceError):
    """Session claims out of the bounds of sessions_store.claims; `fields` says which."""

    code = "invalid_request"
    kind = "invalid"
