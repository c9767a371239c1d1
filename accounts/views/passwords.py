"""Password change and reset."""

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework.response import Response

from accounts import passwords
from accounts.emails import normalize_email
from accounts.serializers import (
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
)
from authsvc.api import APIView, PublicAPIView
from authsvc.http import client_info
from authsvc.ratelimit import rate_limit, rate_limit_ip
from authsvc.schema import (
    CLEAR_AUTH_COOKIES,
    RATE_LIMITED,
    error,
    set_cookie,
)
from authsvc.serializers import DetailSerializer
from tokens.cookies import clear_auth_cookies


@extend_schema(tags=["account"])
class PasswordChangeView(APIView):
    @extend_schema(
        operation_id="passwordChange",
        summary="Change the password",
        request=PasswordChangeSerializer,
        responses={
            200: OpenApiResponse(DetailSerializer, description="Password changed."),
            400: error(
                "`invalid_request`, with `fields.current_password` when the current password "
                "is wrong and `fields.new_password` when the new one is too weak.",
                {
                    "error": "invalid_request",
                    "detail": "The current password is incorrect.",
                    "fields": {"current_password": ["The current password is incorrect."]},
                },
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Every other session of the user is revoked; the current one stays."""
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passwords.password_change(
            user_id=request.user.id,
            session_id=request.user.sid,
            client=client_info(request),
            **data.validated_data,
        )
        return Response({"detail": "Password changed; your other sessions have been logged out."})


@extend_schema(tags=["account"])
class PasswordResetView(PublicAPIView):
    @extend_schema(
        operation_id="passwordReset",
        summary="Email a password reset link",
        request=PasswordResetSerializer,
        responses={
            202: OpenApiResponse(
                DetailSerializer, description="Accepted, whether or not the address is known."
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Sends a link to `AUTHSVC_FRONTEND_URL` + `AUTHSVC_PASSWORD_RESET_PATH` with `uid`
        and `token` query parameters if the address belongs to an active account. The
        answer is the same whether or not it does. Limited per client IP and per address."""
        data = PasswordResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_info(request)
        email = normalize_email(data.validated_data["email"])
        # Per address as well as per IP: one address must not be bombed from many IPs.
        rate_limit_ip(request, "password_reset_ip")
        rate_limit(request, group="password_reset_email", key=email)
        passwords.password_reset_request(email=email, client=client)
        return Response(
            {"detail": "If an account uses this address, a reset link is on its way."},
            status=202,
        )


@extend_schema(tags=["account"])
class PasswordResetConfirmView(PublicAPIView):
    @extend_schema(
        operation_id="passwordResetConfirm",
        summary="Set a new password from a reset link",
        request=PasswordResetConfirmSerializer,
        parameters=[set_cookie(CLEAR_AUTH_COOKIES, 200)],
        responses={
            200: OpenApiResponse(
                DetailSerializer, description="Password reset; every session ended."
            ),
            400: error(
                "`invalid_token` for a wrong, used or expired link; `invalid_request` (with "
                "`fields.new_password`) for a weak password or a malformed body.",
                "invalid_token",
                {
                    "error": "invalid_request",
                    "detail": "The request is invalid.",
                    "fields": {"new_password": ["This password is too common."]},
                },
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Works once and within `AUTHSVC_PASSWORD_RESET_TTL_SECONDS`. Marks the email
        verified (the link arrived by email), revokes every session of the user and clears
        the auth cookies. Limited per client IP."""
        data = PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rate_limit_ip(request, "password_reset_confirm_ip")
        passwords.password_reset_confirm(**data.validated_data, client=client_info(request))
        response = Response({"detail": "Password reset; every session has been logged out."})
        clear_auth_cookies(response)
        return response
