"""The error envelope and the error answers many operations share, as reusable
components; the auth cookies' headers."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from authsvc.errors import ERROR_CODES

# --- The error envelope ------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every failure's body."""

    # The registry is the enum (`ENUM_NAME_OVERRIDES` names it ErrorCode).
    error = serializers.ChoiceField(choices=list(ERROR_CODES))
    detail = serializers.CharField(help_text="A human sentence; may change, do not parse it.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text=(
            "Validation messages by field name (nested fields as `a.b`; whole-body problems "
            "under `non_field_errors`)."
        ),
    )

    class Meta:
        ref_name = "Error"


def _example(value) -> OpenApiExample:
    """`value` is an error code (its registry sentence as `detail`) or a whole body."""
    if isinstance(value, str):
        value = {"error": value, "detail": ERROR_CODES[value]}
    return OpenApiExample(value["error"], value=value, response_only=True)


def error(description: str, *examples) -> OpenApiResponse:
    """One operation's own error answer: the envelope, what the codes mean, an example each."""
    return OpenApiResponse(
        ErrorSerializer, description=description, examples=[_example(e) for e in examples]
    )


class Reusable(OpenApiResponse):
    """An error answer many operations share, written once under `components.responses`."""

    def __init__(self, name: str, description: str, *examples, headers: dict | None = None):
        super().__init__(
            ErrorSerializer, description=description, examples=[_example(e) for e in examples]
        )
        self.name = name
        self.headers = headers or {}


RETRY_AFTER = {
    "description": "Seconds until the limit resets.",
    "schema": {"type": "integer", "minimum": 1},
}
# On every answer (authsvc/logs.py); `plain.postprocess` adds it to each response.
REQUEST_ID = {
    "description": "This request's id, which every log line of the request names: the "
    "trusted proxy's `X-Request-ID` when it sent a well-formed one, else a new one.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
}
CSRF_FAILED_EXAMPLE = {
    "error": "csrf_failed",
    "detail": "CSRF verification failed: CSRF token missing.",
}

INVALID_REQUEST = Reusable(
    "InvalidRequest",
    "`invalid_request`: the body is not a JSON object, a field is missing, of the wrong type "
    "or too long, the email is not an address, or the password is too weak. `fields` names "
    "the offending fields when there are any.",
    {
        "error": "invalid_request",
        "detail": "The request is invalid.",
        "fields": {
            "password": ["This password is too short. It must contain at least 8 characters."]
        },
    },
)
UNAUTHENTICATED = Reusable(
    "Unauthenticated",
    "`not_authenticated` when no access token was sent; `invalid_token` when it is "
    "malformed, wrongly signed, expired, or its session has ended.",
    "not_authenticated",
    "invalid_token",
    headers={
        "WWW-Authenticate": {
            "description": '`Bearer realm="authsvc"`.',
            "schema": {"type": "string"},
        }
    },
)
CSRF_FAILED = Reusable(
    "CsrfFailed",
    "`csrf_failed`: the `X-CSRFToken` header or the `csrftoken` cookie is missing, they "
    "differ, or (over HTTPS) the `Origin` is not trusted.",
    CSRF_FAILED_EXAMPLE,
)
STEP_UP_FORBIDDEN = Reusable(
    "StepUpForbidden",
    "`reauth_required`: the session last proved a factor (login or `POST /auth/reauth/`) "
    "more than `AUTHSVC_REAUTH_MAX_AGE_SECONDS` (300) ago; nothing was changed. Or "
    "`csrf_failed`.",
    "reauth_required",
    CSRF_FAILED_EXAMPLE,
)
NOT_ADMIN = Reusable(
    "NotAdmin",
    "`permission_denied`: the user lacks the `admin` role; or `csrf_failed` on an unsafe "
    "request without the CSRF header.",
    "permission_denied",
)
USER_NOT_FOUND = Reusable("UserNotFound", "`not_found`: no user has this id.", "not_found")
PAYLOAD_TOO_LARGE = Reusable(
    "PayloadTooLarge", "`payload_too_large`: the body is over 64 KiB.", "payload_too_large"
)
UNSUPPORTED_MEDIA_TYPE = Reusable(
    "UnsupportedMediaType",
    "`unsupported_media_type`: the body is not `application/json`. A form body "
    "(`multipart/form-data`, `application/x-www-form-urlencoded`) is refused on every POST, "
    "PATCH and DELETE, before the CSRF check, also where no body is read.",
    "unsupported_media_type",
)
RATE_LIMITED = Reusable(
    "RateLimited",
    "`rate_limited`: too many requests from this client IP, for this address, by this user "
    "or session, or (login, reauth, password change, email change, 2FA disable) the account "
    "is locked out for a while after wrong passwords in a row, or (reauth with a code) the "
    "account's 2FA throttle is waiting. `Retry-After` says for how long.",
    "rate_limited",
    headers={"Retry-After": RETRY_AFTER},
)
MFA_THROTTLED = Reusable(
    "MfaThrottled",
    "`rate_limited`: too many wrong codes for this account in a row. After "
    "`AUTHSVC_MFA_FREE_FAILURES` (3) each further try waits 2, 4, 8 ... seconds, up to "
    "`AUTHSVC_MFA_MAX_DELAY_SECONDS` (3600); `Retry-After` says how long. A right code "
    "resets the count.",
    "rate_limited",
    headers={"Retry-After": RETRY_AFTER},
)
UNAVAILABLE = Reusable(
    "Unavailable",
    "`unavailable`: PostgreSQL is down or did not answer within `AUTHSVC_DB_TIMEOUT_SECONDS`; "
    "the request changed nothing it reported. Any endpoint that needs the database can "
    "answer it (requests served from a cached session snapshot, like `GET /auth/self/`, keep "
    "working). `Retry-After` is that timeout.",
    "unavailable",
    headers={
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
)


def set_cookie(description: str, *codes: int) -> OpenApiParameter:
    """The `Set-Cookie` header of the answers with these status codes."""
    return OpenApiParameter(
        "Set-Cookie",
        OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        description=description,
        response=list(codes),
    )


SET_AUTH_COOKIES = (
    "Two `Set-Cookie` headers: `access_token=<JWT>; HttpOnly; Max-Age=<access TTL>; Path=/; "
    "SameSite=Lax` and `refresh_token=<opaque>; HttpOnly; Max-Age=<seconds until the refresh "
    "token expires: the refresh TTL, never past the session's maximum age>; Path=/auth/; "
    "SameSite=Strict`, both `Secure` unless turned off."
)
CLEAR_AUTH_COOKIES = (
    "Two `Set-Cookie` headers that expire `access_token` and `refresh_token` (`Max-Age=0`), "
    "with the flags they were set with."
)
