from django.http import HttpResponse, HttpResponseNotModified
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response

from authsvc import metrics
from authsvc.api import PublicAPIView
from authsvc.http import client_info, get_only
from authsvc.ratelimit import rate_limit_ip
from authsvc.schema import (
    CLEAR_AUTH_COOKIES,
    CSRF,
    RATE_LIMITED,
    SET_AUTH_COOKIES,
    error,
    operation,
    set_cookie,
)
from authsvc.serializers import DetailSerializer, UserIdSerializer
from tokens import services
from tokens.authentication import raw_access_token
from tokens.conf import token_settings
from tokens.cookies import REFRESH_COOKIE, clear_auth_cookies, set_auth_cookies
from tokens.exceptions import TokenInvalid
from tokens.keys import get_keyring


@extend_schema(tags=["browser"])
class RefreshView(PublicAPIView):
    @extend_schema(
        operation_id="refresh",
        summary="Rotate the token pair",
        auth=[{"refreshCookie": [], **CSRF}],
        request=None,
        parameters=[set_cookie(SET_AUTH_COOKIES, 200), set_cookie(CLEAR_AUTH_COOKIES, 401)],
        responses={
            200: OpenApiResponse(UserIdSerializer, description="Both cookies replaced."),
            401: error(
                "The refresh token is missing, unknown, expired, revoked or reused, or its "
                "session or user is no longer active. Both auth cookies are cleared.",
                "invalid_token",
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Trades the `refresh_token` cookie for a new access token and a new refresh token;
        the presented refresh token is used up. Presented again within
        `AUTHSVC_REFRESH_REUSE_GRACE_SECONDS` (two tabs refreshing at once) it gets the
        same successor; after that it gets it again only while that successor was never
        used (a lost answer, retried), else it counts as theft and the whole session is
        revoked. A session ends `AUTHSVC_SESSION_MAX_AGE_SECONDS` after its login however
        often it refreshes; then the answer is 401 `invalid_token`. No request body is
        read."""
        rate_limit_ip(request, "refresh_ip")
        client = client_info(request)
        issued = services.refresh_token_rotate(
            raw=request.COOKIES.get(REFRESH_COOKIE), client=client
        )
        response = Response({"id": issued.user_id})
        set_auth_cookies(response, issued)
        return response

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, TokenInvalid):
            # A dead refresh token is no use to the browser; stop it retrying.
            clear_auth_cookies(response)
        return response


@extend_schema(tags=["browser"])
class LogoutView(PublicAPIView):
    @extend_schema(
        operation_id="logout",
        summary="End the current session",
        auth=[
            {"accessCookie": [], **CSRF},
            {"refreshCookie": [], **CSRF},
            {"bearerAuth": []},
            CSRF,
        ],
        request=None,
        parameters=[set_cookie(CLEAR_AUTH_COOKIES, 200)],
        responses={
            200: OpenApiResponse(DetailSerializer, description="Logged out; both cookies cleared.")
        },
    )
    def post(self, request):
        """Revokes the session named by the access token (cookie or Bearer header, even an
        expired one) or, failing that, by the refresh cookie, and clears both cookies.
        Idempotent: 200 also when there is nothing to end. No request body is read."""
        try:
            access = raw_access_token(request)
        except AuthenticationFailed:
            access = None  # a malformed header still logs out by cookie
        services.session_logout(
            access_token=access,
            refresh_token=request.COOKIES.get(REFRESH_COOKIE),
            client=client_info(request),
        )
        response = Response({"detail": "Logged out."})
        clear_auth_cookies(response)
        return response


JWK = {
    "type": "object",
    "required": ["kty", "kid", "alg", "use"],
    "properties": {
        "kty": {"type": "string", "enum": ["RSA", "EC", "OKP"]},
        "kid": {"type": "string", "description": "RFC 7638 thumbprint of the public key."},
        "alg": {"type": "string", "enum": ["RS256", "ES256", "EdDSA"]},
        "use": {"type": "string", "const": "sig"},
        "n": {"type": "string"},
        "e": {"type": "string"},
        "crv": {"type": "string", "enum": ["P-256", "Ed25519"]},
        "x": {"type": "string"},
        "y": {"type": "string"},
    },
}


@operation(
    tags=["keys"],
    operationId="jwks",
    summary="The public keys that verify access tokens",
    description="""\
Every key in `AUTHSVC_KEYS_DIR` (not `retired/`), because tokens it signed may
still be alive. A verifier picks the key by the token header's `kid`, and refetches
when it meets an unknown `kid`. Other methods than GET and HEAD answer
`405 method_not_allowed`.
""",
    parameters=[
        {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}}
    ],
    responses={
        "200": {
            "description": "The JWKS (RFC 7517).",
            "headers": {
                "ETag": {"schema": {"type": "string"}},
                "Cache-Control": {
                    "description": (
                        "`public, max-age=<AUTHSVC_JWKS_MAX_AGE_SECONDS>` (default 300)."
                    ),
                    "schema": {"type": "string"},
                },
            },
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["keys"],
                        "properties": {"keys": {"type": "array", "items": JWK}},
                    }
                }
            },
        },
        "304": {
            "description": "`If-None-Match` matched the current `ETag`.",
            "headers": {"ETag": {"schema": {"type": "string"}}},
        },
    },
)
@get_only
def jwks_view(request):
    body, etag = get_keyring().jwks()
    not_modified = request.headers.get("If-None-Match") == etag
    metrics.jwks_fetched(not_modified=not_modified)
    if not_modified:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    # Cacheable, but briefly: verifiers also refetch when they meet an unknown `kid`.
    response["Cache-Control"] = f"public, max-age={token_settings.jwks_max_age}"
    return response
