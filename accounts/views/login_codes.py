"""Sign-in codes by email: ask for one, then sign in with it."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from accounts import login_codes
from accounts.serializers import LoginCodeConfirmSerializer, LoginCodeRequestSerializer
from accounts.views.auth import LOGIN_COOKIES, LOGIN_RESULT, login_response
from authsvc.api import PublicAPIView
from authsvc.http import client_info
from authsvc.schema import CSRF_FAILED_EXAMPLE, RATE_LIMITED, error, set_cookie
from authsvc.serializers import DetailSerializer

CODES_OFF = error(
    "`not_configured`: sign-in codes are turned off (`AUTHSVC_LOGIN_CODES_ENABLED=0`).",
    "not_configured",
)


@extend_schema(tags=["browser"])
class LoginCodeRequestView(PublicAPIView):
    @extend_schema(
        operation_id="loginCodeRequest",
        summary="Email a sign-in code",
        request=LoginCodeRequestSerializer,
        responses={
            202: OpenApiResponse(
                DetailSerializer, description="Accepted, whether or not the address is known."
            ),
            404: CODES_OFF,
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """If the address belongs to an account that may sign in, a 6-digit code goes to it,
        valid 10 minutes, replacing any earlier one. The answer, and the work done before
        it, are the same whether or not it does. Limited per client IP and per address."""
        data = LoginCodeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"]
        login_codes.login_code_request_limit(request, email=email)
        login_codes.login_code_request(email=email, client=client_info(request))
        return Response(
            {"detail": "If an account uses this address, a sign-in code is on its way."},
            status=202,
        )


@extend_schema(tags=["browser"])
class LoginCodeConfirmView(PublicAPIView):
    @extend_schema(
        operation_id="loginCodeConfirm",
        summary="Sign in with an emailed code",
        request=LoginCodeConfirmSerializer,
        parameters=[set_cookie(LOGIN_COOKIES, 200)],
        responses={
            200: OpenApiResponse(
                LOGIN_RESULT,
                description=(
                    'Signed in (both auth cookies set, `amr` `["email"]`), or, for an '
                    "account with 2FA, the second step is required (only the `mfa_challenge` "
                    "cookie is set; `POST /auth/2fa/verify/` finishes with `amr` "
                    '`["email", "otp"]`).'
                ),
            ),
            401: error(
                "A wrong, expired, used or replaced code, a code tried 5 times already, or an "
                "address with no code: one answer for all.",
                "invalid_code",
            ),
            403: error(
                "`account_disabled`: the code was right but the account may not sign in. "
                "`csrf_failed`: see the CSRF rule.",
                "account_disabled",
                CSRF_FAILED_EXAMPLE,
            ),
            404: CODES_OFF,
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Works once, within 10 minutes of the mail, and for at most 5 tries per code
        (then ask for a new one). Signs in like a password login and marks the address
        verified (the code arrived there). Failed codes are limited per client IP and per
        address."""
        data = LoginCodeConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_info(request)
        email = data.validated_data["email"]
        with login_codes.login_code_confirm_limited(request, email=email, client=client):
            outcome = login_codes.login_code_confirm(
                email=email, code=data.validated_data["code"], client=client
            )
        return login_response(outcome)
