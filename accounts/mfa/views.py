from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.exceptions import MfaChallengeExpired
from accounts.mfa import services
from accounts.mfa.cookies import CHALLENGE_COOKIE, clear_challenge_cookie
from accounts.mfa.serializers import CodeSerializer, DisableSerializer, TotpEnrolmentSerializer
from accounts.permissions import STEP_UP
from authsvc.api import APIView, PublicAPIView
from authsvc.http import NoStoreMixin, client_info
from authsvc.ratelimit import rate_limit_ip
from authsvc.schema import CSRF, MFA_THROTTLED, SET_AUTH_COOKIES, error, set_cookie
from authsvc.serializers import DetailSerializer, UserIdSerializer
from tokens.cookies import set_auth_cookies

BackupCodesResponse = inline_serializer(
    "BackupCodes",
    {
        "backup_codes": serializers.ListField(
            child=serializers.CharField(), min_length=10, max_length=10
        )
    },
)
MFA_ALREADY_ENABLED = "`mfa_already_enabled`: a confirmed device exists; disable 2FA first."


@extend_schema(tags=["2fa"])
class TotpSetupView(NoStoreMixin, APIView):
    permission_classes = STEP_UP

    @extend_schema(
        operation_id="totpSetup",
        summary="Start enrolling an authenticator app",
        request=None,
        responses={
            200: OpenApiResponse(TotpEnrolmentSerializer, description="The pending device."),
            409: error(MFA_ALREADY_ENABLED, "mfa_already_enabled"),
        },
    )
    def post(self, request):
        """Creates an unconfirmed TOTP device (replacing an earlier unconfirmed one) and
        returns what the app needs: the `otpauth://` URI (issuer `AUTHSVC_MFA_ISSUER`, label
        `issuer:email`), its base32 secret for typing in by hand, and the URI as a QR code
        drawn by the service as SVG (no third party sees the secret). 2FA is on only after
        `/auth/2fa/totp/confirm/`. No request body is read. Needs a recently authenticated
        session (`403 reauth_required`: see `POST /auth/reauth/`)."""
        enrolment = services.totp_setup(user_id=request.user.id)
        return Response(TotpEnrolmentSerializer(enrolment).data)


@extend_schema(tags=["2fa"])
class TotpConfirmView(NoStoreMixin, APIView):
    permission_classes = STEP_UP

    @extend_schema(
        operation_id="totpConfirm",
        summary="Confirm the app with a code and get backup codes",
        request=CodeSerializer,
        responses={
            200: OpenApiResponse(BackupCodesResponse, description="2FA is on."),
            400: error(
                "`invalid_code`: the code is wrong or not current. `mfa_not_enabled`: no "
                "pending device; call `/auth/2fa/totp/setup/` first. `invalid_request`: no "
                "`code`.",
                "invalid_code",
                "mfa_not_enabled",
                "invalid_request",
            ),
            409: error("`mfa_already_enabled`.", "mfa_already_enabled"),
            429: MFA_THROTTLED,
        },
    )
    def post(self, request):
        """A current code from the app confirms the pending device and turns 2FA on. The
        answer holds 10 single-use backup codes, shown this once (only hashes are kept).
        Every other session of the user is revoked; the current one stays. Needs a
        recently authenticated session (`403 reauth_required`: see `POST /auth/reauth/`)."""
        data = CodeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        codes = services.totp_confirm(
            user_id=request.user.id,
            session_id=request.user.sid,
            code=data.validated_data["code"],
            client=client_info(request),
        )
        return Response({"backup_codes": codes})


@extend_schema(tags=["2fa"])
class MfaVerifyView(PublicAPIView):
    @extend_schema(
        operation_id="mfaVerify",
        summary="Finish a 2FA login with a code",
        auth=[{"mfaChallengeCookie": [], **CSRF}],
        request=CodeSerializer,
        parameters=[set_cookie(SET_AUTH_COOKIES, 200)],
        responses={
            200: OpenApiResponse(UserIdSerializer, description="Signed in."),
            401: error(
                "`invalid_code`: the code is wrong, already used (a TOTP code works once), or "
                "outside ±1 time step. `mfa_challenge_expired`: no challenge cookie, or one "
                "that is forged, expired, completed or ended by too many wrong codes; log in "
                "again.",
                "invalid_code",
                "mfa_challenge_expired",
            ),
            403: error(
                "`account_disabled` (after a right code) or `csrf_failed`.",
                "account_disabled",
                "csrf_failed",
            ),
            429: MFA_THROTTLED,
        },
    )
    def post(self, request):
        """The second step after `POST /auth/login/` answered `mfa_required`. With the
        `mfa_challenge` cookie that login set, a current TOTP code or an unused backup code
        starts the session exactly like a login: both auth cookies, and the access token's
        `amr` is `["pwd", "otp"]`. The challenge cookie is cleared. A challenge lasts
        `AUTHSVC_MFA_CHALLENGE_TTL_SECONDS` (300), completes once, and ends after
        `AUTHSVC_MFA_CHALLENGE_MAX_FAILURES` (5) wrong codes."""
        rate_limit_ip(request, "mfa_verify_ip")
        client = client_info(request)
        data = CodeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            issued = services.mfa_login_complete(
                token=request.COOKIES.get(CHALLENGE_COOKIE),
                code=data.validated_data["code"],
                client=client,
            )
        except MfaChallengeExpired as exc:
            # A dead challenge is of no further use to the browser.
            response = self.handle_exception(exc)
            clear_challenge_cookie(response)
            return response
        response = Response({"id": issued.user_id})
        set_auth_cookies(response, issued)
        clear_challenge_cookie(response)
        return response


@extend_schema(tags=["2fa"])
class BackupCodesView(NoStoreMixin, APIView):
    permission_classes = STEP_UP

    @extend_schema(
        operation_id="mfaBackupCodes",
        summary="Replace the backup codes",
        request=CodeSerializer,
        responses={
            200: OpenApiResponse(
                BackupCodesResponse, description="The new codes, shown this once."
            ),
            400: error(
                "`invalid_code`, `mfa_not_enabled` or `invalid_request`.",
                "invalid_code",
                "mfa_not_enabled",
                "invalid_request",
            ),
            429: MFA_THROTTLED,
        },
    )
    def post(self, request):
        """A current TOTP code or an unused backup code; the old backup codes stop working.
        Needs a recently authenticated session (`403 reauth_required`: see
        `POST /auth/reauth/`)."""
        data = CodeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        codes = services.backup_codes_regenerate(
            user_id=request.user.id,
            session_id=request.user.sid,
            code=data.validated_data["code"],
            client=client_info(request),
        )
        return Response({"backup_codes": codes})


@extend_schema(tags=["2fa"])
class MfaDisableView(APIView):
    permission_classes = STEP_UP

    @extend_schema(
        operation_id="mfaDisable",
        summary="Turn 2FA off",
        request=DisableSerializer,
        responses={
            200: OpenApiResponse(DetailSerializer, description="2FA is off."),
            400: error(
                "`mfa_not_enabled`, or `invalid_request`.", "mfa_not_enabled", "invalid_request"
            ),
            401: error(
                "`invalid_credentials` (wrong password), `invalid_code` (wrong code), or the "
                "access token's `not_authenticated` / `invalid_token`.",
                "invalid_credentials",
                "invalid_code",
            ),
            429: MFA_THROTTLED,
        },
    )
    def post(self, request):
        """Needs the password and a current TOTP code or an unused backup code. Removes the
        app and the backup codes; every other session of the user is revoked. Needs a
        recently authenticated session (`403 reauth_required`: see `POST /auth/reauth/`)."""
        data = DisableSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.mfa_disable(
            user_id=request.user.id,
            session_id=request.user.sid,
            client=client_info(request),
            **data.validated_data,
        )
        return Response({"detail": "2FA is off; your other sessions have been logged out."})
