from dataclasses import replace

from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts import email_change, passwords, reauth, services, verification
from accounts.emails import normalize_email
from accounts.exceptions import InvalidCode, InvalidCredentials
from accounts.mfa.challenge import Challenge
from accounts.mfa.cookies import set_challenge_cookie
from accounts.mfa.services import MFA_METHODS
from accounts.permissions import STEP_UP
from accounts.serializers import (
    AuthTimeSerializer,
    EmailChangeConfirmSerializer,
    EmailChangeSerializer,
    EmailVerifySerializer,
    LoginSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    ReauthSerializer,
    RegisterSerializer,
)
from authsvc.api import APIView, PublicAPIView
from authsvc.http import NoStoreMixin, client_info
from authsvc.ratelimit import rate_limit, rate_limit_ip, rate_limit_refund, rate_limit_reserve
from authsvc.serializers import DetailSerializer, UserIdSerializer
from tokens.cookies import clear_auth_cookies, set_auth_cookies


class CsrfView(PublicAPIView):
    @extend_schema(responses=inline_serializer("CsrfToken", {"csrfToken": serializers.CharField()}))
    def get(self, request):
        # get_token marks the cookie for CsrfViewMiddleware to set on the response.
        return Response({"csrfToken": get_token(request._request)})


class RegisterView(PublicAPIView):
    @extend_schema(request=RegisterSerializer, responses={201: UserIdSerializer})
    def post(self, request):
        rate_limit_ip(request, "register_ip")
        client = client_info(request)
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, issued = services.user_register(**data.validated_data, client=client)
        if issued is None:
            return Response({"id": str(user.pk), "email_verification_required": True}, status=201)
        response = Response({"id": issued.user_id}, status=201)
        set_auth_cookies(response, issued)
        return response


class LoginView(PublicAPIView):
    @extend_schema(request=LoginSerializer, responses=UserIdSerializer)
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_info(request)
        # Failures only: a shared office IP must not be locked out by its own good logins.
        # Counted before the password check and given back after anything but a wrong
        # password, so parallel guesses cannot all slip under the limit.
        limit = {"group": "login_failed_ip", "key": client.ip or ""}
        rate_limit_reserve(request, **limit)
        try:
            outcome = services.user_login(**data.validated_data, client=client)
        except InvalidCredentials:
            raise
        except BaseException:
            rate_limit_refund(request, **limit)
            raise
        rate_limit_refund(request, **limit)
        if isinstance(outcome, Challenge):
            # No token cookies yet: the challenge cookie and a code earn them at /auth/2fa/verify/.
            response = Response({"mfa_required": True, "methods": list(MFA_METHODS)})
            set_challenge_cookie(response, outcome.token)
            return response
        response = Response({"id": outcome.user_id})
        set_auth_cookies(response, outcome)
        return response


class SelfView(NoStoreMixin, APIView):
    @extend_schema(responses=ProfileSerializer)
    def get(self, request):
        return Response(request.user.snapshot.profile())

    @extend_schema(request=ProfileUpdateSerializer, responses=ProfileSerializer)
    def patch(self, request):
        data = ProfileUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_profile_update(user_id=request.user.id, **data.validated_data)
        return Response(ProfileSerializer(replace(request.user.snapshot, name=user.name)).data)


class PasswordChangeView(APIView):
    @extend_schema(request=PasswordChangeSerializer, responses=DetailSerializer)
    def post(self, request):
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passwords.password_change(
            user_id=request.user.id,
            session_id=request.user.sid,
            client=client_info(request),
            **data.validated_data,
        )
        return Response({"detail": "Password changed; your other sessions have been logged out."})


class PasswordResetView(PublicAPIView):
    @extend_schema(request=PasswordResetSerializer, responses={202: DetailSerializer})
    def post(self, request):
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


class PasswordResetConfirmView(PublicAPIView):
    @extend_schema(request=PasswordResetConfirmSerializer, responses=DetailSerializer)
    def post(self, request):
        data = PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rate_limit_ip(request, "password_reset_confirm_ip")
        passwords.password_reset_confirm(**data.validated_data, client=client_info(request))
        response = Response({"detail": "Password reset; every session has been logged out."})
        clear_auth_cookies(response)
        return response


class EmailVerifyView(PublicAPIView):
    @extend_schema(request=EmailVerifySerializer, responses=DetailSerializer)
    def post(self, request):
        data = EmailVerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rate_limit_ip(request, "email_verify_ip")
        verification.email_verify(key=data.validated_data["key"], client=client_info(request))
        return Response({"detail": "Email verified."})


class EmailVerifyResendView(APIView):
    @extend_schema(request=None, responses={200: DetailSerializer, 202: DetailSerializer})
    def post(self, request):
        rate_limit(request, group="email_verify_resend_user", key=str(request.user.id))
        if not verification.email_verification_resend(user_id=request.user.id):
            return Response({"detail": "Email already verified."})
        return Response({"detail": "A new verification link is on its way."}, status=202)


class ReauthView(APIView):
    """The session proves a factor again, for the step-up endpoints (accounts/reauth.py)."""

    @extend_schema(request=ReauthSerializer, responses=AuthTimeSerializer)
    def post(self, request):
        data = ReauthSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_info(request)
        # Failures only, like login: the per-account side is the lockout and the 2FA throttle.
        # Counted before the check and given back unless it failed, like login's.
        limit = {"group": "reauth_failed_ip", "key": client.ip or ""}
        rate_limit_reserve(request, **limit)
        try:
            auth_time = reauth.session_reauth(
                user_id=request.user.id,
                session_id=request.user.sid,
                client=client,
                **data.validated_data,
            )
        except (InvalidCredentials, InvalidCode):
            raise
        except BaseException:
            rate_limit_refund(request, **limit)
            raise
        rate_limit_refund(request, **limit)
        return Response({"auth_time": auth_time})


class EmailChangeView(APIView):
    permission_classes = STEP_UP

    @extend_schema(request=EmailChangeSerializer, responses={202: DetailSerializer})
    def post(self, request):
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


class EmailChangeConfirmView(PublicAPIView):
    @extend_schema(request=EmailChangeConfirmSerializer, responses=DetailSerializer)
    def post(self, request):
        data = EmailChangeConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rate_limit_ip(request, "email_change_confirm_ip")
        email_change.email_change_confirm(
            key=data.validated_data["key"], client=client_info(request)
        )
        return Response({"detail": "Email changed."})
