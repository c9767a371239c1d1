"""Step-up: the session proves a factor again."""

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework.response import Response

from accounts import reauth
from accounts.exceptions import InvalidCode, InvalidCredentials
from accounts.serializers import (
    AuthTimeSerializer,
    ReauthSerializer,
)
from authsvc.api import APIView
from authsvc.http import client_info
from authsvc.ratelimit import failures_limited
from authsvc.schema import (
    RATE_LIMITED,
    error,
)


@extend_schema(tags=["account"])
class ReauthView(APIView):
    @extend_schema(
        operation_id="reauth",
        summary="Prove a factor again (step-up)",
        request=ReauthSerializer,
        responses={
            200: OpenApiResponse(
                AuthTimeSerializer, description="The session counts as freshly authenticated."
            ),
            400: error(
                "`invalid_request`: neither or both of `password` and `code`, or a password "
                "for an account with 2FA (`fields.code`). `mfa_not_enabled`: a code for an "
                "account without 2FA.",
                "invalid_request",
                "mfa_not_enabled",
            ),
            401: error(
                "`invalid_credentials` (wrong password), `invalid_code` (wrong or used code), "
                "or the access token's `not_authenticated` / `invalid_token`.",
                "invalid_credentials",
                "invalid_code",
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Renews the session's `auth_time`, so for `AUTHSVC_REAUTH_MAX_AGE_SECONDS` (300)
        it may add or remove a second factor, link or unlink Google and change the email.
        It counts at once (the check reads the session, not the
        token); access tokens from the next refresh carry the new `auth_time` claim. Send
        exactly one of `password` (an account without 2FA) or `code` (an account with 2FA:
        a current TOTP code or an unused backup code). An account with neither (Google
        only, no 2FA) logs in with Google again instead: a new login is a fresh session.
        Wrong passwords count toward the login lockout, wrong codes toward the 2FA
        throttle, and failures per client IP are limited (`AUTHSVC_RATE_REAUTH_FAILED_IP`)."""
        data = ReauthSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_info(request)
        # Failures only, like login: the per-account side is the lockout and the 2FA throttle.
        limit = {"group": "reauth_failed_ip", "key": client.ip or ""}
        with failures_limited(request, **limit, failures=(InvalidCredentials, InvalidCode)):
            auth_time = reauth.session_reauth(
                user_id=request.user.id,
                session_id=request.user.sid,
                client=client,
                **data.validated_data,
            )
        return Response({"auth_time": auth_time})
