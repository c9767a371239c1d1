from drf_spectacular.utils import extend_schema, inline_serializer
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
from authsvc.serializers import DetailSerializer, UserIdSerializer
from tokens.cookies import set_auth_cookies

BackupCodesResponse = inline_serializer(
    "BackupCodes", {"backup_codes": serializers.ListField(child=serializers.CharField())}
)


class TotpSetupView(NoStoreMixin, APIView):
    permission_classes = STEP_UP

    @extend_schema(request=None, responses=TotpEnrolmentSerializer)
    def post(self, request):
        enrolment = services.totp_setup(user_id=request.user.id)
        return Response(TotpEnrolmentSerializer(enrolment).data)


class TotpConfirmView(NoStoreMixin, APIView):
    permission_classes = STEP_UP

    @extend_schema(request=CodeSerializer, responses=BackupCodesResponse)
    def post(self, request):
        data = CodeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        codes = services.totp_confirm(
            user_id=request.user.id,
            session_id=request.user.sid,
            code=data.validated_data["code"],
            client=client_info(request),
        )
        return Response({"backup_codes": codes})


class MfaVerifyView(PublicAPIView):
    """The second step of a login: the challenge cookie plus a code give the session."""

    @extend_schema(request=CodeSerializer, responses=UserIdSerializer)
    def post(self, request):
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


class BackupCodesView(NoStoreMixin, APIView):
    permission_classes = STEP_UP

    @extend_schema(request=CodeSerializer, responses=BackupCodesResponse)
    def post(self, request):
        data = CodeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        codes = services.backup_codes_regenerate(
            user_id=request.user.id,
            session_id=request.user.sid,
            code=data.validated_data["code"],
            client=client_info(request),
        )
        return Response({"backup_codes": codes})


class MfaDisableView(APIView):
    permission_classes = STEP_UP

    @extend_schema(request=DisableSerializer, responses=DetailSerializer)
    def post(self, request):
        data = DisableSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.mfa_disable(
            user_id=request.user.id,
            session_id=request.user.sid,
            client=client_info(request),
            **data.validated_data,
        )
        return Response({"detail": "2FA is off; your other sessions have been logged out."})
