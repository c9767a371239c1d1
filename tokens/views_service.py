"""The doors for other services: the client-credentials token endpoint and introspection."""

from django.utils.datastructures import MultiValueDict
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView as DRFAPIView

from authsvc.errors import ServiceError
from authsvc.http import client_info, response_no_store
from authsvc.parsers import BoundedFormParser
from authsvc.ratelimit import rate_limit_ip
from authsvc.schema import error
from tokens.client_credentials import client_credentials_grant
from tokens.exceptions import InvalidClient
from tokens.introspection import token_introspect
from tokens.service_auth import ServiceAPIView, basic_credentials
from tokens.service_clients import SCOPE_INTROSPECT

# Error codes of our envelope that RFC 6749 §5.2 has no name for, and what to say instead.
_RFC_CODES = {
    "unsupported_media_type": (
        "invalid_request",
        "Send the request body as application/x-www-form-urlencoded.",
    ),
    "payload_too_large": ("invalid_request", "The request body is too large."),
}


class TokenRequestSerializer(serializers.Serializer):
    grant_type = serializers.ChoiceField(choices=["client_credentials"])
    scope = serializers.CharField(
        required=False, help_text="Space-separated; omitted: every scope the client may ask for."
    )
    audience = serializers.CharField(
        required=False,
        help_text=(
            "The service the token is for: one of the client's audiences, or authsvc's own "
            "(`AUTHSVC_JWT_AUDIENCE`). Omitted: the client's first audience, else authsvc's."
        ),
    )
    client_id = serializers.CharField(required=False, help_text="client_secret_post only.")
    client_secret = serializers.CharField(required=False, help_text="client_secret_post only.")


class TokenResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField()
    scope = serializers.CharField()


OAUTH_ERROR = {
    "type": "object",
    "required": ["error", "error_description"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def _oauth_error(description: str, *codes: str) -> OpenApiResponse:
    named = ", ".join(f"`{code}`" for code in codes)
    return OpenApiResponse(OAUTH_ERROR, description=f"{description} `error`: {named}.")


@extend_schema(tags=["services"])
class TokenView(DRFAPIView):
    """RFC 6749's token endpoint, for the client-credentials grant only. Not our `APIView`:
    it takes a form body, answers errors in RFC 6749 §5.2's shape, and no cookie
    authenticates it, so it needs no CSRF check."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [BoundedFormParser]
    oauth_errors = True  # for the schema generator: errors in RFC 6749 §5.2's shape

    @extend_schema(
        operation_id="service_token",
        summary="Get a service token (OAuth 2.0 client credentials)",
        auth=[{"clientBasic": []}, {}],
        request={"application/x-www-form-urlencoded": TokenRequestSerializer},
        responses={
            200: OpenApiResponse(
                TokenResponseSerializer,
                description="`Cache-Control: no-store`. The token is a JWT with `token_type: "
                '"service"`, `sub` and `client_id` the client, `aud`, `scope`.',
            ),
            400: _oauth_error(
                "A malformed or oversized form, a body that is not a form, a parameter sent "
                "twice, a grant other than client credentials, a scope or audience the "
                "client may not have.",
                "invalid_request",
                "unsupported_grant_type",
                "invalid_scope",
            ),
            401: _oauth_error(
                "No client credential, an unknown or disabled client, a wrong secret; with "
                '`WWW-Authenticate: Basic realm="authsvc"`.',
                "invalid_client",
            ),
            429: _oauth_error(
                "Too many requests from this IP or for this client; `Retry-After` says for "
                "how long.",
                "rate_limited",
            ),
        },
    )
    def post(self, request):
        """The client authenticates with HTTP Basic (`client_secret_basic`) or with
        `client_id` and `client_secret` in the form (`client_secret_post`), never both.
        Limited per IP (`AUTHSVC_RATE_SERVICE_TOKEN_IP`) and per client
        (`AUTHSVC_RATE_SERVICE_TOKEN_CLIENT`)."""
        rate_limit_ip(request, "service_token_ip")
        form = request.data if isinstance(request.data, MultiValueDict) else MultiValueDict()
        if any(len(form.getlist(name)) > 1 for name in form):
            raise ServiceError("A parameter was sent more than once.")
        client_id, secret = _client_credentials(request, form)
        issued = client_credentials_grant(
            client_id=client_id,
            secret=secret,
            grant_type=form.get("grant_type"),
            scope=form.get("scope"),
            audience=form.get("audience"),
            client=client_info(request),
        )
        response = Response(
            {
                "access_token": issued.raw,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": issued.scope,
            }
        )
        response["Pragma"] = "no-cache"
        return response_no_store(response)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        body = response.data
        if isinstance(body, dict) and "error" in body:
            code, description = _RFC_CODES.get(body["error"], (body["error"], body.get("detail")))
            if response.status_code in (413, 415):
                response.status_code = 400
            response.data = {"error": code, "error_description": description or ""}
        return response


def _client_credentials(request, form) -> tuple[str, str]:
    in_body = "client_id" in form or "client_secret" in form
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if authorization and in_body:
        raise ServiceError("Authenticate the client one way: HTTP Basic or the form.")
    if authorization:
        credentials = basic_credentials(request)
        if credentials is None:
            raise InvalidClient()
        return credentials
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if not client_id or secret is None:
        raise InvalidClient()
    return client_id, secret


class IntrospectionRequestSerializer(serializers.Serializer):
    token = serializers.CharField()
    token_type_hint = serializers.CharField(required=False, help_text="Ignored.")


class IntrospectionSerializer(serializers.Serializer):
    active = serializers.BooleanField()
    token_type = serializers.ChoiceField(choices=["access", "service"], required=False)
    iss = serializers.CharField(required=False)
    aud = serializers.CharField(required=False)
    sub = serializers.CharField(required=False, help_text="The user's id, or the client's.")
    sid = serializers.UUIDField(required=False, help_text="Access tokens: the session.")
    jti = serializers.CharField(required=False)
    exp = serializers.IntegerField(required=False)
    iat = serializers.IntegerField(required=False)
    auth_time = serializers.IntegerField(required=False)
    roles = serializers.ListField(child=serializers.CharField(), required=False)
    amr = serializers.ListField(child=serializers.CharField(), required=False)
    email = serializers.EmailField(required=False)
    email_verified = serializers.BooleanField(required=False)
    client_id = serializers.CharField(required=False, help_text="Service tokens.")
    scope = serializers.CharField(required=False, help_text="Service tokens.")


@extend_schema(tags=["services"])
class IntrospectView(ServiceAPIView):
    required_scope = SCOPE_INTROSPECT

    @extend_schema(
        operation_id="introspect",
        summary="Is this token active? (RFC 7662 introspection)",
        request={
            "application/json": IntrospectionRequestSerializer,
            "application/x-www-form-urlencoded": IntrospectionRequestSerializer,
        },
        responses={
            200: OpenApiResponse(
                IntrospectionSerializer,
                description='`{"active": false}` and nothing else for a token that is not '
                "active. `Cache-Control: no-store`.",
            ),
            400: error("No `token`.", "invalid_request"),
            401: error(
                "No service credential, or a wrong, disabled or other-audience one.",
                "invalid_client",
            ),
            403: error("The credential lacks the `introspect` scope.", "insufficient_scope"),
            415: error("The body is neither JSON nor a form.", "unsupported_media_type"),
        },
    )
    def post(self, request):
        """For a user's access token: active only while the signature, the claims and the
        session all hold, checked exactly as authsvc checks its own requests; `roles` and
        the rest are the session's as they are now. For a service token: active while its
        client is active and has not rotated its secret. The caller authenticates as a
        service client with the `introspect` scope: HTTP Basic, or a service token for
        authsvc's audience."""
        data = request.data
        tokens = data.getlist("token") if hasattr(data, "getlist") else [_get(data, "token")]
        if len(tokens) != 1 or not isinstance(tokens[0], str) or not tokens[0]:
            raise ServiceError(fields={"token": ["Send exactly one token."]})
        return response_no_store(Response(token_introspect(tokens[0])))


def _get(data, name):
    return data.get(name) if isinstance(data, dict) else None
