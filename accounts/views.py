from dataclasses import replace

from django.middleware.csrf import get_token
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
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
    MfaRequiredSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    ReauthSerializer,
    RegisteredSerializer,
    RegisterSerializer,
)
from authsvc.api import APIView, PublicAPIView
from authsvc.http import NoStoreMixin, client_info
from authsvc.ratelimit import rate_limit, rate_limit_ip, rate_limit_refund, rate_limit_reserve
from authsvc.schema import (
    CLEAR_AUTH_COOKIES,
    CSRF_FAILED_EXAMPLE,
    RATE_LIMITED,
    SET_AUTH_COOKIES,
    STEP_UP_FORBIDDEN,
    error,
    set_cookie,
)
from authsvc.serializers import DetailSerializer, UserIdSerializer
from tokens.cookies import clear_auth_cookies, set_auth_cookies

EMAIL_TAKEN = error("The address (in its normal form) already has an account.", "email_taken")


@extend_schema(tags=["browser"])
class CsrfView(PublicAPIView):
    @extend_schema(
        operation_id="csrf",
        summary="Get a CSRF token",
        parameters=[
            OpenApiParameter(
                "Set-Cookie",
                location=OpenApiParameter.HEADER,
                response=[200],
                description=(
                    "`csrftoken=<token>; Path=/; SameSite=Lax` (+ `Secure` unless turned off)."
                ),
            )
        ],
        responses={
            200: OpenApiResponse(
                inline_serializer("CsrfToken", {"csrfToken": serializers.CharField()}),
                description="A CSRF token; the `csrftoken` cookie is set.",
            )
        },
    )
    def get(self, request):
        """Sets the `csrftoken` cookie (not HttpOnly, `SameSite=Lax`) and returns a token
        that may be sent as `X-CSRFToken`. The cookie's own value works as the header too
        (Django's double submit); the body's value is a masked form of it."""
        # get_token marks the cookie for CsrfViewMiddleware to set on the response.
        return Response({"csrfToken": get_token(request._request)})


@extend_schema(tags=["browser"])
class RegisterView(PublicAPIView):
    @extend_schema(
        operation_id="register",
        summary="Create an account and sign in",
        request=RegisterSerializer,
        parameters=[set_cookie(SET_AUTH_COOKIES, 201)],
        responses={
            201: OpenApiResponse(RegisteredSerializer, description="Account created."),
            409: EMAIL_TAKEN,
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Creates the account (the email is stored in a normal form: NFKC, trimmed,
        lower-cased) and emails a verification link. Unless
        `AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL` is on, it also starts a session and sets
        both auth cookies; when it is on, the answer carries
        `"email_verification_required": true` and no cookies."""
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


@extend_schema(tags=["browser"])
class LoginView(PublicAPIView):
    @extend_schema(
        operation_id="login",
        summary="Sign in with email and password",
        request=LoginSerializer,
        parameters=[
            set_cookie(
                "The two auth cookies (see `SetAuthCookies`), or only `mfa_challenge=<signed>; "
                "HttpOnly; Max-Age=300; Path=/auth/2fa/; SameSite=Strict`.",
                200,
            )
        ],
        responses={
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="LoginResult",
                    serializers=[UserIdSerializer, MfaRequiredSerializer],
                    resource_type_field_name=None,
                ),
                description=(
                    "Signed in (both auth cookies set), or, for an account with 2FA, the "
                    "second step is required (only the `mfa_challenge` cookie is set)."
                ),
            ),
            401: error("Unknown email or wrong password.", "invalid_credentials"),
            403: error(
                "`account_disabled`: the password was right but the account is deactivated. "
                "`email_not_verified`: the password was right but "
                "`AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL` is on and the address is unverified. "
                "`csrf_failed`: see the CSRF rule.",
                "account_disabled",
                {
                    "error": "email_not_verified",
                    "detail": "Verify your email address before logging in.",
                },
                CSRF_FAILED_EXAMPLE,
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Starts a session and sets both auth cookies. An unknown email and a wrong
        password get the same answer, in the same time. When the account has 2FA, a right
        password answers `{"mfa_required": true, "methods": ["totp", "backup_code"]}`
        instead, sets no token cookies but the `mfa_challenge` cookie, and
        `POST /auth/2fa/verify/` finishes the login."""
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


@extend_schema(tags=["account"])
class SelfView(NoStoreMixin, APIView):
    @extend_schema(
        operation_id="selfGet",
        summary="The signed-in user's profile",
        responses={200: OpenApiResponse(ProfileSerializer, description="The profile.")},
    )
    def get(self, request):
        """Answered from the session snapshot (one session-store read, no database query
        while cached)."""
        return Response(request.user.snapshot.profile())

    @extend_schema(
        operation_id="selfUpdate",
        summary="Change the profile's name",
        request=ProfileUpdateSerializer,
        responses={200: OpenApiResponse(ProfileSerializer, description="The updated profile.")},
    )
    def patch(self, request):
        data = ProfileUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_profile_update(user_id=request.user.id, **data.validated_data)
        return Response(ProfileSerializer(replace(request.user.snapshot, name=user.name)).data)


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
