"""The OpenAPI document, generated from the code by drf-spectacular.

The DRF views describe themselves (serializers, `@extend_schema` with summaries, tags and
their own error answers); this module adds what every endpoint of a kind shares: the error
envelope `{"error", "detail", "fields"?}` as the `Error` component, the reusable error
answers (`components.responses`), the security schemes, and, through `AutoSchema`, the
failures the base classes produce (CSRF, form bodies, authentication, step-up, roles), so
they are written once. The plain Django views (JWKS, probes, Google's redirects, the
document itself) carry their operation with `@operation(...)`, and `postprocess` adds them.
"""

import re

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent, get_doc
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated

from authsvc.api import SAFE_METHODS
from authsvc.errors import ERROR_CODES

# --- The document's own text -------------------------------------------------------------

INFO = {
    "title": "authsvc",
    "version": "0.1.0",
    "summary": "Authentication for browser apps and the services behind them.",
    "description": """\
Cookie flows for browsers, asymmetric JWT access tokens published as a JWKS, and
server-side sessions that can be revoked at once. This document is generated from the code
(drf-spectacular) and served at `GET /openapi.yaml` and `GET /api/schema/` (JSON or YAML),
and browsable with Swagger UI at `/api/docs/`.

**Errors.** Every failure is JSON: `{"error": "<code>", "detail": "<sentence>"}`, plus
`"fields": {"<field>": ["<message>", ...]}` on validation errors. Clients should branch
on `error`, never on `detail`. Any path not listed here (the admin site under
`/admin/` aside) answers `404 {"error": "not_found"}`; trailing slashes are exact:
`/auth/login` is a 404, not a redirect.

**Cookies.** Browsers authenticate with two HttpOnly cookies: `access_token` (the
access JWT; `Path=/`, `SameSite=Lax`) and `refresh_token` (an opaque random token, not
a JWT; `Path=/auth/`, `SameSite=Strict`). Both are `Secure` unless
`AUTHSVC_COOKIE_SECURE=0` (the default only under `DJANGO_DEBUG=1`). Tokens never
appear in a response body.

**CSRF.** Every POST, PUT, PATCH or DELETE to an `/auth/` endpoint must send
`X-CSRFToken` equal to the `csrftoken` cookie that `GET /auth/csrf/` sets, including
login and register. The one exemption: a request that carries
`Authorization: Bearer <token>` and neither auth cookie. A missing or wrong token is
`403 {"error": "csrf_failed"}`, checked before authentication and before the body is
read. Over HTTPS the `Origin` header (or, without one, `Referer`) must also be this
host or one of `CSRF_TRUSTED_ORIGINS`; browsers send it.

**Generic failures** any `/auth/` endpoint can answer, not repeated per operation:
`405 method_not_allowed` (after CSRF and authentication), `406 not_acceptable` (an
`Accept` header that excludes `application/json`), `500 server_error`, and
`503 unavailable` with `Retry-After` (see `components.responses.Unavailable`) when
PostgreSQL is down or does not answer within `AUTHSVC_DB_TIMEOUT_SECONDS` (default 5):
nothing was changed, retry later. The Google callback redirects with
`?error=unavailable` instead.
""",
    "license": {"name": "MIT"},
}

TAGS = [
    {"name": "browser", "description": "CSRF, registration, login and the token cookies."},
    {
        "name": "account",
        "description": "The signed-in user's profile, password and email address.",
    },
    {
        "name": "2fa",
        "description": (
            "Two-factor authentication with an authenticator app (TOTP) and backup codes."
        ),
    },
    {
        "name": "google",
        "description": (
            '"Continue with Google" (OAuth 2.0 with PKCE), and linking Google to an account.'
        ),
    },
    {"name": "sessions", "description": "The signed-in user's sessions (one per login)."},
    {"name": "keys", "description": "Public keys for verifying access tokens."},
    {
        "name": "operators",
        "description": (
            "Users, bans and unbans, for operators who script against the API (admin role)."
        ),
    },
    {"name": "operations", "description": "Probes and this document."},
]

SECURITY_SCHEMES = {
    "accessCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "access_token",
        "description": (
            "The access JWT, set by register, login and refresh. Valid until `exp` and only "
            "while its session (`sid` claim) is alive. Its `auth_time` claim (Unix seconds) is "
            "when the session last proved a factor: its login, or `POST /auth/reauth/`; a "
            "refresh keeps it."
        ),
    },
    "refreshCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "refresh_token",
        "description": "The opaque refresh token; sent by browsers to `/auth/` paths only.",
    },
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "`Authorization: Bearer <access JWT>`, for clients that are not browsers. A request "
            "with a Bearer header and no auth cookies is exempt from CSRF. The header wins over "
            "the cookie when both are sent; a header that is not `Bearer <token>` is a 401."
        ),
    },
    "mfaChallengeCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "mfa_challenge",
        "description": (
            "Set by `POST /auth/login/` when the account has 2FA: signed, HttpOnly, "
            "`SameSite=Strict`, `Path=/auth/2fa/`, `Max-Age` = "
            "`AUTHSVC_MFA_CHALLENGE_TTL_SECONDS`."
        ),
    },
    "csrfCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "csrftoken",
        "description": "Set by `GET /auth/csrf/`.",
    },
    "csrfHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRFToken",
        "description": (
            "Must equal the `csrftoken` cookie (or the `csrfToken` that `GET /auth/csrf/` "
            "returned)."
        ),
    },
}

# Security requirements an operation can name with `@extend_schema(auth=...)`.
CSRF = {"csrfCookie": [], "csrfHeader": []}


class AccessTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tokens.authentication.AccessTokenAuthentication"
    name = ["accessCookie", "csrfCookie", "csrfHeader", "bearerAuth"]

    def get_security_definition(self, auto_schema):
        return [SECURITY_SCHEMES[name] for name in self.name]

    def get_security_requirement(self, auto_schema):
        cookie = {"accessCookie": []}
        if auto_schema.method not in SAFE_METHODS:
            # A cookie can be sent by a hostile page, so writes by cookie need CSRF too.
            cookie = {**cookie, **CSRF}
        return [cookie, {"bearerAuth": []}]


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


# --- The generator ------------------------------------------------------------------------


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, plus the failures our base classes produce, so no
    operation has to repeat them: an operation's own `responses` win for a status code."""

    def _inherited_errors(self, *, has_body: bool) -> dict[str, OpenApiResponse]:
        from accounts.permissions import RecentAuthentication

        permissions = [type(p) for p in self.view.get_permissions()]
        has_role = any(p.__name__.startswith("HasRole(") for p in permissions)
        errors = {}
        if self.method not in SAFE_METHODS:
            # authsvc.api.RequestChecksMixin: form bodies, then CSRF, on every write.
            errors["403"] = CSRF_FAILED
            errors["415"] = UNSUPPORTED_MEDIA_TYPE
        if has_body:
            # The serializer's validation, and authsvc.parsers' bound.
            errors["400"] = INVALID_REQUEST
            errors["413"] = PAYLOAD_TOO_LARGE
        if IsAuthenticated in permissions or has_role:
            errors["401"] = UNAUTHENTICATED
        if has_role:
            errors["403"] = NOT_ADMIN
        if RecentAuthentication in permissions and self.method not in SAFE_METHODS:
            errors["403"] = STEP_UP_FORBIDDEN
        return errors

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        inherited = self._inherited_errors(has_body="requestBody" in operation)
        for code, response in inherited.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_description(self):
        # The handler's docstring only: a view class's is for the people reading the code.
        handler = getattr(self.view, getattr(self.view, "action", None) or self.method.lower())
        return get_doc(handler)

    def _get_response_for_code(
        self, serializer, status_code, media_types=None, direction="response"
    ):
        if not isinstance(serializer, Reusable):
            return super()._get_response_for_code(serializer, status_code, media_types, direction)
        body = super()._get_response_for_code(
            OpenApiResponse(serializer.response, serializer.description, serializer.examples),
            status_code,
            media_types,
            direction,
        )
        if serializer.headers:
            body = {"headers": serializer.headers, **body}
        component = ResolvedComponent(
            name=serializer.name, type=ResolvedComponent.RESPONSE, schema=body, object=serializer
        )
        self.registry.register_on_missing(component)
        return component.ref

    def get_auth(self):
        if self.view.get_authenticators():
            return super().get_auth()
        # A public endpoint: its writes still need the CSRF pair (authsvc.api.csrf_required).
        return [CSRF] if self.method not in SAFE_METHODS else []


# --- The plain Django views -----------------------------------------------------------------


def operation(**spec):
    """Document a plain Django view (not DRF) as the GET operation of its route."""

    def decorate(view):
        view.openapi_operation = spec
        return view

    return decorate


ERROR_REF = {"$ref": "#/components/schemas/Error"}


def error_content(example_code: str | None = None, schema=None) -> dict:
    """A JSON error body for a plain view's operation."""
    media = {"schema": schema or ERROR_REF}
    if example_code:
        media["example"] = {"error": example_code, "detail": ERROR_CODES[example_code]}
    return {"application/json": media}


def openapi_path(pattern) -> str:
    """`users/<uuid:user_id>/` as OpenAPI writes it: `users/{user_id}/`."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern))


def _plain_routes(patterns=None, prefix="/"):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern) != "admin/":
                yield from _plain_routes(entry.url_patterns, prefix + openapi_path(entry.pattern))
        elif isinstance(entry, URLPattern) and hasattr(entry.callback, "openapi_operation"):
            yield prefix + openapi_path(entry.pattern), entry.callback.openapi_operation


def postprocess(result, generator, request, public):
    """The document's text, the plain views' operations, the shared components."""
    for path, spec in _plain_routes():
        result["paths"].setdefault(path, {})["get"] = spec
    components = result.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    responses = components.setdefault("responses", {})
    responses.setdefault(UNAVAILABLE.name, _unavailable_component(components))
    return {
        "openapi": result["openapi"],
        "info": INFO,
        "servers": [{"url": "/"}],
        "tags": TAGS,
        "security": [],
        "paths": result["paths"],
        "components": components,
    }


def _unavailable_component(components) -> dict:
    return {
        "description": UNAVAILABLE.description,
        "headers": UNAVAILABLE.headers,
        "content": error_content("unavailable"),
    }
