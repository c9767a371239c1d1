"""The gateway's door: nginx `auth_request`, Traefik ForwardAuth or Envoy ext_authz ask here
whether the request they hold may pass, and learn who sent it."""

import logging

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView as DRFAPIView

from authsvc.api import SAFE_METHODS, auth_cookie_sent, enforce_csrf
from authsvc.http import NoStoreMixin
from authsvc.schema import CSRF_FAILED_EXAMPLE, UNAUTHENTICATED, error
from tokens.authentication import AccessTokenAuthentication

logger = logging.getLogger(__name__)

# Where gateways put the method of the request they ask about: Traefik's ForwardAuth, and
# the header the nginx example sets (its auth subrequest itself is always a GET).
ORIGINAL_METHOD_HEADERS = ("HTTP_X_FORWARDED_METHOD", "HTTP_X_ORIGINAL_METHOD")


def unsafe_original_method(request) -> str | None:
    """The first method named for the gateway's request, its own or a header's, that is not
    exactly GET, HEAD, OPTIONS or TRACE; None when the request is a safe one.

    Every method named, not the first found: a gateway passes the client's other headers
    on, so a client could add the one this gateway does not set. A forged method can then
    only make a request look unsafe, never let a write skip the CSRF check. A method we do
    not know (garbage, a lowercase `get`, several joined by a comma) is unsafe.
    """
    methods = [request.method] + [
        request.META[name] for name in ORIGINAL_METHOD_HEADERS if name in request.META
    ]
    return next((method for method in methods if method not in SAFE_METHODS), None)


def header_value(value: str) -> str | None:
    """`value` if it can go into a header as it is: printable ASCII, so no CR or LF can
    split the gateway's request and nothing needs an encoding the upstream would have to
    undo; else None."""
    return value if value.isascii() and value.isprintable() else None


def identity_headers(principal) -> dict[str, str]:
    snapshot = principal.snapshot
    # A role with a comma would read as two roles upstream ("support,admin"), so a role the
    # list cannot carry is left out: the upstream sees fewer roles, never more.
    roles = [role for role in snapshot.roles if "," not in role and header_value(role.strip())]
    if len(roles) != len(snapshot.roles):
        logger.warning("forward-auth left out role names a header cannot carry: %r", snapshot.roles)
    values = {
        "X-Auth-User": snapshot.user_id,
        "X-Auth-Session": snapshot.sid,
        "X-Auth-Roles": ",".join(role.strip() for role in roles),
        "X-Auth-Email": snapshot.email,
    }
    headers = {}
    for name, value in values.items():
        if header_value(value) is None:
            logger.warning("forward-auth left out %s: not a safe header value", name)
            continue
        headers[name] = value
    return headers


IDENTITY_HEADERS = {
    "X-Auth-User": "The user's id (UUID), the access token's `sub`.",
    "X-Auth-Session": "The session's id (UUID), the token's `sid`.",
    "X-Auth-Roles": "The user's roles, comma-separated, as the session knows them now.",
    "X-Auth-Email": "The user's email address, in its normal form.",
    "Cache-Control": "`no-store`.",
}


class IgnoreAccept(BaseContentNegotiation):
    """The `Accept` a gateway passes on is the original request's (an image, a page): it
    must not turn the answer into a 406, which a gateway would take for a failure."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema(tags=["services"])
class ForwardAuthView(NoStoreMixin, DRFAPIView):
    """Not `authsvc.api.APIView`: its checks (no form bodies, CSRF for the request's own
    method) are about requests to us, while this view is asked about the gateway's request,
    whose body is not ours and whose method may come in a header."""

    authentication_classes = (AccessTokenAuthentication,)
    permission_classes = (IsAuthenticated,)
    content_negotiation_class = IgnoreAccept

    def initial(self, request, *args, **kwargs):
        # A write authenticated by a cookie could be a hostile page's; checked before
        # authentication, like every API write, so a forged one learns nothing. A request
        # without an auth cookie has no CSRF to fear (Bearer) or is refused as
        # unauthenticated below.
        method = unsafe_original_method(request)
        if method is not None and auth_cookie_sent(request):
            enforce_csrf(request._request, method=method)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="forwardAuth",
        summary="Let a gateway check a request's user",
        parameters=[
            OpenApiParameter(
                name, OpenApiTypes.STR, OpenApiParameter.HEADER, description=text, response=[200]
            )
            for name, text in IDENTITY_HEADERS.items()
        ],
        responses={
            200: OpenApiResponse(
                None, description="Authenticated: an empty body; who the user is in headers."
            ),
            401: UNAUTHENTICATED,
            403: error(
                "`csrf_failed`: the gateway's request is not a GET, HEAD, OPTIONS or TRACE "
                "(by its method and `X-Forwarded-Method` / `X-Original-Method`), carries an "
                "auth cookie, and its `X-CSRFToken` header does not match the `csrftoken` "
                "cookie or its `Origin` is not trusted.",
                CSRF_FAILED_EXAMPLE,
            ),
        },
    )
    def get(self, request):
        """For nginx `auth_request`, Traefik ForwardAuth and Envoy ext_authz. Any method is
        answered alike (a gateway may ask with the original request's). The `access_token`
        cookie or `Authorization: Bearer` token is checked exactly as for `GET /auth/self/`:
        the signature, then the session, so a logout or a ban counts at once. The headers
        of the 200 are for the gateway to copy onto the request it forwards, after removing
        any the client sent itself."""
        response = HttpResponse(status=200)
        del response["Content-Type"]
        for name, value in identity_headers(request.user).items():
            response[name] = value
        return response

    def http_method_not_allowed(self, request, *args, **kwargs):
        return self.get(request)

    options = http_method_not_allowed
