"""How a service client authenticates to authsvc's service doors (`/auth/verify/`,
`/auth/sessions/<sid>/claims/`): its id and secret by HTTP Basic, or a service token
minted for authsvc's own audience. Never a user's access token, never a cookie, so these
doors need no CSRF check."""

import base64
import binascii
from urllib.parse import unquote_plus

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView as DRFAPIView

from authsvc.parsers import BoundedFormParser, BoundedJSONParser
from tokens.authentication import bearer_token
from tokens.exceptions import InsufficientScope, InvalidClient, TokenInvalid
from tokens.service_clients import ClientRecord, service_client_authenticate
from tokens.service_tokens import service_token_verify

# A Basic credential longer than this is not ours (an id is 20 characters, a secret 43).
MAX_BASIC_LENGTH = 1024


class ServicePrincipal:
    """`request.user` at a service door: the client and the scopes this request holds."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, client: ClientRecord, scopes: frozenset[str]):
        self.client = client
        self.client_id = self.pk = client.client_id
        self.scopes = scopes

    def __str__(self) -> str:
        return self.client.name


def basic_credentials(request) -> tuple[str, str] | None:
    """The client id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1: each
    form-encoded, then base64), None without one, InvalidClient when it is malformed."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    value = value.strip()
    if not value or len(value) > MAX_BASIC_LENGTH:
        raise InvalidClient()
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise InvalidClient() from exc
    client_id, separator, secret = decoded.partition(":")
    if not separator or not client_id:
        raise InvalidClient()
    return unquote_plus(client_id), unquote_plus(secret)


class ServiceAuthentication(BaseAuthentication):
    """Basic with the client's secret (it holds every scope the client may ask for), or
    Bearer with a service token for authsvc (it holds the scopes it was issued with)."""

    def authenticate(self, request):
        credentials = basic_credentials(request)
        if credentials is not None:
            client = service_client_authenticate(client_id=credentials[0], secret=credentials[1])
            return ServicePrincipal(client, client.scopes), None
        raw = bearer_token(request)
        if raw is None:
            raise InvalidClient()
        try:
            claims, client = service_token_verify(raw)
        except TokenInvalid as exc:
            raise InvalidClient() from exc
        return ServicePrincipal(client, frozenset(claims["scope"].split())), claims

    def authenticate_header(self, request) -> str:
        return InvalidClient.www_authenticate


class HasScope(BasePermission):
    """The view's `required_scope` must be among the request's scopes."""

    def has_permission(self, request, view) -> bool:
        scopes = getattr(request.user, "scopes", frozenset())
        if view.required_scope not in scopes:
            raise InsufficientScope()
        return True


class ServiceAPIView(DRFAPIView):
    """The base of the service doors: service credentials only, JSON or form bodies."""

    authentication_classes = [ServiceAuthentication]
    permission_classes = [HasScope]
    parser_classes = [BoundedJSONParser, BoundedFormParser]
    required_scope: str = ""
