from authsvc.errors import ServiceError


class SessionNotFound(ServiceError):
    code = "not_found"
    kind = "not_found"
