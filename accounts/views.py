from dataclasses import replace

from django.middleware.csrf import get_token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts import passwords, services, verification
from accounts.emails import normalize_email
from accounts.serializers import (
    EmailVerifySerializer,
    LoginSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    RegisterSerializer,
)
from authsvc.api import APIView
from authsvc.http import client_info
from authsvc.ratelimit import rate, rate_limit
from tokens.cookies import clear_auth_cookies, set_auth_cookies


class CsrfView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get(self, request):
        # get_token marks the cookie for CsrfViewMiddleware to set on the response.
        return Response({"csrfToken": get_token(request._request)})


class RegisterView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, issued = services.user_register(**data.validated_data, client=client_info(request))
        if issued is None:
            return Response({"id": str(user.pk), "email_verification_required": True}, status=201)
        response = Response({"id": issued.user_id}, status=201)
        set_auth_cookies(response, issued)
        return response


class LoginView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.user_login(**data.validated_data, client=client_info(request))
        response = Response({"id": issued.user_id})
        set_auth_cookies(response, issued)
        return response


class SelfView(APIView):
    def get(self, request):
        return Response(request.user.snapshot.profile())

    def patch(self, request):
        data = ProfileUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_profile_update(user_id=request.user.id, **data.validated_data)
        return Response(ProfileSerializer(replace(request.user.snapshot, name=user.name)).data)


class PasswordChangeView(APIView):
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


class PasswordResetView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request):
        data = PasswordResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_info(request)
        email = normalize_email(data.validated_data["email"])
        # Per address as well as per IP: one address must not be bombed from many IPs.
        rate_limit(
            request, group="password_reset_ip", key=client.ip or "", rate=rate("password_reset_ip")
        )
        rate_limit(
            request, group="password_reset_email", key=email, rate=rate("password_reset_email")
        )
        passwords.password_reset_request(email=email, client=client)
        return Response(
            {"detail": "If an account uses this address, a reset link is on its way."},
            status=202,
        )


class PasswordResetConfirmView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request):
        data = PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_info(request)
        rate_limit(
            request,
            group="password_reset_confirm_ip",
            key=client.ip or "",
            rate=rate("password_reset_confirm_ip"),
        )
        passwords.password_reset_confirm(**data.validated_data, client=client)
        response = Response({"detail": "Password reset; every session has been logged out."})
        clear_auth_cookies(response)
        return response


class EmailVerifyView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request):
        data = EmailVerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_info(request)
        rate_limit(
            request, group="email_verify_ip", key=client.ip or "", rate=rate("email_verify_ip")
        )
        verification.email_verify(key=data.validated_data["key"], client=client)
        return Response({"detail": "Email verified."})


class EmailVerifyResendView(APIView):
    def post(self, request):
        rate_limit(
            request,
            group="email_verify_resend_user",
            key=str(request.user.id),
            rate=rate("email_verify_resend_user"),
        )
        if not verification.email_verification_resend(user_id=request.user.id):
            return Response({"detail": "Email already verified."})
        return Response({"detail": "A new verification link is on its way."}, status=202)
