"""Email verification and email change."""

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework.response import Response

from accounts import email_change, verification
from accounts.permissions import STEP_UP
from accounts.serializers import (
    EmailChangeConfirmSerializer,
    EmailChangeSerializer,
    EmailVerifySerializer,
)
from authsvc.api import APIView, PublicAPIView
from authsvc.http import client_info
from authsvc.ratelimit import rate_limit, rate_limit_ip
from authsvc.schema import (
    RATE_LIMITED,
    STEP_UP_FORBIDDEN,
    error,
)
from authsvc.serializers import DetailSerializer


@extend_schema(tags=["account"])
class EmailVerifyView(PublicAPIView):
    @extend_schema(
        operation_id="emailVerify",
        summary="Confirm an email address",
        request=EmailVerifySerializer,
        responses={
            200: OpenApiResponse(DetailSerializer, description="The address is verified."),
            400: error(
                "`invalid_token` for a wrong or expired key; `invalid_request` for a "
                "malformed body.",
                "invalid_token",
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """`key` comes from the link emailed at registration (or by the resend endpoint); it
        is valid for `AUTHSVC_EMAIL_VERIFY_TTL_SECONDS` and only while the address is
        unchanged. Verifying twice is not an error. Limited per client IP."""
        data = EmailVerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rate_limit_ip(request, "email_verify_ip")
        verification.email_verify(key=data.validated_data["key"], client=client_info(request))
        return Response({"detail": "Email verified."})


@extend_schema(tags=["account"])
class EmailVerifyResendView(APIView):
    @extend_schema(
        operation_id="emailVerifyResend",
        summary="Email a new verification link",
        request=None,
        responses={
            200: OpenApiResponse(
                DetailSerializer, description="The address is already verified; nothing sent."
            ),
            202: OpenApiResponse(DetailSerializer, description="A new link is on its way."),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Limited per user. No request body is read."""
        rate_limit(request, group="email_verify_resend_user", key=str(request.user.id))
        if not verification.email_verification_resend(user_id=request.user.id):
            return Response({"detail": "Email already verified."})
        return Response({"detail": "A new verification link is on its way."}, status=202)


@extend_schema(tags=["account"])
class EmailChangeView(APIView):
    permission_classes = STEP_UP

    @extend_schema(
        operation_id="emailChange",
        summary="Ask to change the email address",
        request=EmailChangeSerializer,
        responses={
            202: OpenApiResponse(
                DetailSerializer,
                description="The confirmation link and the notice are on their way.",
            ),
            400: error(
                "`invalid_request`: `fields.new_email` names a malformed address, or the "
                "account's own.",
                "invalid_request",
            ),
            401: error(
                "`invalid_credentials` (wrong password), or the access token's "
                "`not_authenticated` / `invalid_token`.",
                "invalid_credentials",
                "not_authenticated",
            ),
            403: STEP_UP_FORBIDDEN,
            409: error("`email_taken`: another account has this address.", "email_taken"),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Checks the password (wrong ones count toward the login lockout) and mails a link
        to the new address, valid for `AUTHSVC_EMAIL_CHANGE_TTL_SECONDS` (1 day), and a
        notice to the current one. Nothing changes until the link is used
        (`POST /auth/email/change/confirm/`). Needs a recently authenticated session
        (`403 reauth_required`); limited per user (`AUTHSVC_RATE_EMAIL_CHANGE_USER`)."""
        data = EmailChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rate_limit(request, group="email_change_user", key=str(request.user.id))
        email_change.email_change_request(
            user_id=request.user.id,
            session_id=request.user.sid,
            client=client_info(request),
            **data.validated_data,
        )
        return Response(
            {"detail": "A confirmation link is on its way to the new address."}, status=202
        )


@extend_schema(tags=["account"])
class EmailChangeConfirmView(PublicAPIView):
    @extend_schema(
        operation_id="emailChangeConfirm",
        summary="Confirm an email change",
        request=EmailChangeConfirmSerializer,
        responses={
            200: OpenApiResponse(DetailSerializer, description="The email is changed."),
            400: error(
                "`invalid_token` for a wrong, expired or used key; `invalid_request` for a "
                "malformed body.",
                "invalid_token",
            ),
            409: error(
                "`email_taken`: another account took the address since the link was sent.",
                "email_taken",
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """`key` comes from the link mailed to the new address. The account's email becomes
        that address, verified; every session but the one that asked for the change ends.
        A key works once and dies when the account's email or password changes. Limited
        per client IP (`AUTHSVC_RATE_EMAIL_CHANGE_CONFIRM_IP`)."""
        data = EmailChangeConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rate_limit_ip(request, "email_change_confirm_ip")
        email_change.email_change_confirm(
            key=data.validated_data["key"], client=client_info(request)
        )
        return Response({"detail": "Email changed."})
