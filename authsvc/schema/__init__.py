"""The OpenAPI document, generated from the code by drf-spectacular.

The DRF views describe themselves (serializers, `@extend_schema` with summaries, tags and
their own error answers); this module adds what every endpoint of a kind shares: the error
envelope `{"error", "detail", "fields"?}` as the `Error` component, the reusable error
answers (`components.responses`), the security schemes, and, through `AutoSchema`, the
failures the base classes produce (CSRF, form bodies, authentication, step-up, roles), so
they are written once. The plain Django views (JWKS, probes, Google's redirects, the
document itself) carry their operation with `@operation(...)`, and `postprocess` adds them.
"""

from authsvc.schema.document import (
    CSRF,
    INFO,
    SECURITY_SCHEMES,
    TAGS,
    AccessTokenAuthenticationScheme,
)
from authsvc.schema.generator import (
    AutoSchema,
)
from authsvc.schema.plain import (
    ERROR_REF,
    error_content,
    openapi_path,
    operation,
    postprocess,
)
from authsvc.schema.responses import (
    CLEAR_AUTH_COOKIES,
    CSRF_FAILED,
    CSRF_FAILED_EXAMPLE,
    INVALID_REQUEST,
    MFA_THROTTLED,
    NOT_ADMIN,
    PAYLOAD_TOO_LARGE,
    RATE_LIMITED,
    RETRY_AFTER,
    SET_AUTH_COOKIES,
    STEP_UP_FORBIDDEN,
    UNAUTHENTICATED,
    UNAVAILABLE,
    UNSUPPORTED_MEDIA_TYPE,
    USER_NOT_FOUND,
    ErrorSerializer,
    Reusable,
    error,
    set_cookie,
)

__all__ = [
    "CLEAR_AUTH_COOKIES",
    "CSRF",
    "CSRF_FAILED",
    "CSRF_FAILED_EXAMPLE",
    "ERROR_REF",
    "INFO",
    "INVALID_REQUEST",
    "MFA_THROTTLED",
    "NOT_ADMIN",
    "PAYLOAD_TOO_LARGE",
    "RATE_LIMITED",
    "RETRY_AFTER",
    "SECURITY_SCHEMES",
    "SET_AUTH_COOKIES",
    "STEP_UP_FORBIDDEN",
    "TAGS",
    "UNAUTHENTICATED",
    "UNAVAILABLE",
    "UNSUPPORTED_MEDIA_TYPE",
    "USER_NOT_FOUND",
    "AccessTokenAuthenticationScheme",
    "AutoSchema",
    "ErrorSerializer",
    "Reusable",
    "error",
    "error_content",
    "openapi_path",
    "operation",
    "postprocess",
    "set_cookie",
]
