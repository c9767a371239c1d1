"""Register, log in and the profile."""

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

from accounts import services
from accounts.exceptions import InvalidCredentials
from accounts.mfa.challenge import Challenge
from accounts.mfa.cookies import set_challenge_cookie
from accounts.mfa.services import mfa_methods
from accounts.serializers import (
    LoginSerializer,
    MfaRequiredSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    RegisteredSerializer,
    RegisterSerializer,
)
from authsvc.api import APIView, PublicAPIView
from authsvc.http import NoStoreMixin, client_info
from authsvc.ratelimit import failures_limited, rate_limit_ip
from authsvc.schema import (
    CSRF_FAILED_EXAMPLE,
    RATE_LIMITED,
    SET_AUTH_COOKIES,
    error,
    set_cookie,
)
from authsvc.serializers import UserIdSerializer
from tokens.cookies import set_auth_cookies
from tokens.services import IssuedTokens

# A first factor's answer (password, email code): signed in, or the 2FA step next.
LOGIN_RESULT = PolymorphicProxySerializer(
    component_name="LoginResult",
    serializers=[UserIdSerializer, MfaRequiredSerializer],
    resource_type_field_name=None,
)
LOGIN_COOKIES = (
    "The two auth cookies (see `SetAuthCookies`), or only `mfa_challenge=<signed>; "
    "HttpOnly; Max-Age=300; Path=/auth/2fa/; SameSite=Strict`."
)

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
        parameters=[set_cookie(LOGIN_COOKIES, 200)],
        responses={
            200: OpenApiResponse(
                LOGIN_RESULT,
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
            503: error(
                "`unavailable`: every password-hashing slot of the answering process is taken "
                "(a burst of logins, `AUTHSVC_HASHING_QUEUE`), so the request was refused "
                "before the password was checked or the attempt counted; `Retry-After` (1) "
                "says when to try again. Also PostgreSQL being down, as on any endpoint.",
                "unavailable",
            ),
        },
    )
    def post(self, request):
        """Starts a session and sets both auth cookies. An unknown email and a wrong
        password get the same answer, in the same time. When the account has 2FA, a right
        password answers `{"mfa_required": true, "methods": [...]}` instead (`"totp"` and
        `"backup_code"` with an authenticator app, `"passkey"` with a passkey), sets no token
        cookies but the `mfa_challenge` cookie, and `POST /auth/2fa/verify/` (a code) or
        `POST /auth/2fa/passkey/` finishes the login."""
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_info(request)
        # Failures only, counted before the password check (authsvc.ratelimit).
        limit = {"group": "login_failed_ip", "key": client.ip or ""}
        with failures_limited(request, **limit, failures=(InvalidCredentials,)):
            outcome = services.user_login(**data.validated_data, client=client)
        return login_response(outcome)


def login_response(outcome: IssuedTokens | Challenge) -> Response:
    """A first factor's answer (password, email code): signed in, or the 2FA step."""
    if isinstance(outcome, Challenge):
        # No token cookies yet: the challenge cookie and a code earn them at /auth/2fa/verify/
        # (a code) or /auth/2fa/passkey/.
        response = Response({"mfa_required": True, "methods": mfa_methods(user_id=outcome.user_id)})
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
