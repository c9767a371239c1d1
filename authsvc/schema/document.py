"""The document's own text: its description, tags and security schemes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from authsvc.api import SAFE_METHODS

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

**Request ids.** Every response, errors included, carries `X-Request-ID`: the id under
which the service logged the request (a trusted proxy's `X-Request-ID` when it sent a
well-formed one, else a new one). Quote it when reporting a problem.

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
read. A browser's `Origin` header (or, over HTTPS without one, `Referer`) must also
name this host, one of `AUTHSVC_CORS_ALLOWED_ORIGINS` or one of `CSRF_TRUSTED_ORIGINS`;
browsers send it.

**Pages on another origin.** The origins in `AUTHSVC_CORS_ALLOWED_ORIGINS` may call the
`/auth/` endpoints with the browser's cookies (CORS with credentials: `Content-Type` and
`X-CSRFToken` allowed, `Retry-After` exposed, preflights cached 2 hours); the
service-to-service endpoints (`/auth/token/`, `/auth/verify/`, `/auth/forward-auth/`)
answer no CORS request. Such a page takes the CSRF token from the body of
`GET /auth/csrf/`. With `AUTHSVC_COOKIE_CROSS_SITE=1` (a front end on another site) the
cookies are `SameSite=None`.

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
            "Two-factor authentication with an authenticator app (TOTP) and backup codes, "
            "or a passkey after the password."
        ),
    },
    {
        "name": "passkeys",
        "description": (
            "Passkeys (WebAuthn): register, sign in with one (two factors in one step), "
            "list, rename and delete."
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
    {
        "name": "services",
        "description": (
            "For other back-end services: service tokens (OAuth 2.0 client credentials), "
            "introspection, session claims and the gateway check."
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
    "clientBasic": {
        "type": "http",
        "scheme": "basic",
        "description": (
            "A service client's id and secret (`manage.py create_service_client`), each "
            "form-encoded, as HTTP Basic (RFC 6749 §2.3.1)."
        ),
    },
    "serviceBearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "A service token from `POST /auth/token/` whose `aud` is authsvc's own "
            "(`AUTHSVC_JWT_AUDIENCE`). A user's access token is never accepted here."
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


class ServiceAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tokens.service_auth.ServiceAuthentication"
    name = ["clientBasic", "serviceBearer"]

    def get_security_definition(self, auto_schema):
        return [SECURITY_SCHEMES[name] for name in self.name]

    def get_security_requirement(self, auto_schema):
        return [{"clientBasic": []}, {"serviceBearer": []}]
