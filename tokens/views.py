from django.http import HttpResponse, HttpResponseNotModified
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response

from authsvc.api import PublicAPIView
from authsvc.http import client_info, get_only
from authsvc.ratelimit import rate_limit_ip
from authsvc.serializers import DetailSerializer, UserIdSerializer
from tokens import services
from tokens.authentication import raw_access_token
from tokens.conf import token_settings
from tokens.cookies import REFRESH_COOKIE, clear_auth_cookies, set_auth_cookies
from tokens.exceptions import TokenInvalid
from tokens.keys import get_keyring


class RefreshView(PublicAPIView):
    @extend_schema(request=None, responses=UserIdSerializer)
    def post(self, request):
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


class LogoutView(PublicAPIView):
    @extend_schema(request=None, responses=DetailSerializer)
    def post(self, request):
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


@get_only
def jwks_view(request):
    body, etag = get_keyring().jwks()
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    # Cacheable, but briefly: verifiers also refetch when they meet an unknown `kid`.
    response["Cache-Control"] = f"public, max-age={token_settings.jwks_max_age}"
    return response
