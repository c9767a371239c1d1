"""The passkey endpoints: the collection (list, rename, delete) is a viewset; the ceremonies'
options and answers are verbs."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.exceptions import InvalidCredential, MfaChallengeExpired
from accounts.mfa.cookies import CHALLENGE_COOKIE, clear_challenge_cookie
from accounts.passkeys import services
from accounts.passkeys.serializers import (
    PasskeyAssertionSerializer,
    PasskeyCreatedSerializer,
    PasskeyRegisterSerializer,
    PasskeyRenameSerializer,
    PasskeySerializer,
)
from accounts.permissions import STEP_UP
from accounts.serializers import AuthTimeSerializer
from authsvc.api import APIView, GenericViewSet, PublicAPIView
from authsvc.http import NoStoreMixin, client_info
from authsvc.ratelimit import failures_limited, rate_limit, rate_limit_ip
from authsvc.schema import (
    CSRF,
    CSRF_FAILED_EXAMPLE,
    RATE_LIMITED,
    SET_AUTH_COOKIES,
    error,
    set_cookie,
)
from authsvc.serializers import UserIdSerializer
from tokens.cookies import set_auth_cookies

CREATION_OPTIONS = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=(
        "`PublicKeyCredentialCreationOptionsJSON` (WebAuthn Level 3): binary fields as "
        "base64url, for `PublicKeyCredential.parseCreationOptionsFromJSON()`."
    ),
)
REQUEST_OPTIONS = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=(
        "`PublicKeyCredentialRequestOptionsJSON` (WebAuthn Level 3): binary fields as "
        "base64url, for `PublicKeyCredential.parseRequestOptionsFromJSON()`."
    ),
)
INVALID_CREDENTIAL = (
    "`invalid_credential`: the answer does not verify: an unknown passkey, another origin "
    "or RP id, a challenge this service did not issue for this step or that was used or "
    "expired (each works once, for 5 minutes), no user verification, a bad signature, or a "
    "signature counter that went backwards (a cloned authenticator; recorded)."
)


@extend_schema(tags=["passkeys"])
class PasskeyRegisterOptionsView(NoStoreMixin, APIView):
    permission_classes = STEP_UP

    @extend_schema(
        operation_id="passkeyRegisterOptions",
        summary="Start registering a passkey",
        request=None,
        responses={200: CREATION_OPTIONS, 429: RATE_LIMITED},
    )
    def post(self, request):
        """Creation options for `navigator.credentials.create()`: user verification
        required, a discoverable (resident) key preferred, the account's passkeys excluded.
        The challenge is bound to this session and lasts 5 minutes. No request body is read.
        Needs a recently authenticated session (`403 reauth_required`: see
        `POST /auth/reauth/`)."""
        rate_limit(request, group="passkey_options_user", key=str(request.user.id))
        options = services.passkey_registration_options(
            user_id=request.user.id, session_id=request.user.sid
        )
        return Response(options)


@extend_schema(tags=["passkeys"])
class PasskeyRegisterView(APIView):
    @extend_schema(
        operation_id="passkeyRegister",
        summary="Finish registering a passkey",
        request=PasskeyRegisterSerializer,
        responses={
            201: OpenApiResponse(
                PasskeyCreatedSerializer,
                description=(
                    "Registered. When it is the account's first second factor (no passkey "
                    "or authenticator app before), the user's other sessions end."
                ),
            ),
            400: error(
                f"{INVALID_CREDENTIAL} Also a passkey registered already. `invalid_request`: "
                "no `credential`, or a `name` that is blank or too long.",
                "invalid_credential",
                "invalid_request",
            ),
        },
    )
    def post(self, request):
        """The authenticator's answer (`credential.toJSON()`) to this session's registration
        options, and an optional `name` (default "Passkey N"). Attestation is not asked for
        nor trusted: the passkey is the account's because this signed-in session made it."""
        data = PasskeyRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passkey = services.passkey_register(
            user_id=request.user.id,
            session_id=request.user.sid,
            credential=data.validated_data["credential"],
            name=data.validated_data.get("name"),
            client=client_info(request),
        )
        return Response(PasskeyCreatedSerializer(passkey).data, status=201)


@extend_schema(tags=["passkeys"])
class PasskeyViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, GenericViewSet):
    # `/auth/passkeys/` (list) and `/auth/passkeys/<id>/` (rename, delete) on the router.

    serializer_class = PasskeySerializer
    lookup_url_kwarg = "passkey_id"
    lookup_value_converter = "uuid"
    pagination_class = None

    def get_queryset(self):
        # Another user's passkey is not in it: a 404 like a missing one.
        return services.passkeys_list(user_id=self.request.user.id)

    def get_permissions(self):
        if self.action == "destroy":
            return [permission() for permission in STEP_UP]
        return [IsAuthenticated()]

    @extend_schema(
        operation_id="passkeyList",
        summary="The user's passkeys",
        description="Oldest first.",
        responses={200: OpenApiResponse(PasskeySerializer(many=True), description="The list.")},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="passkeyRename",
        summary="Rename a passkey",
        description="An addition to the contract: the name shown in the list.",
        request=PasskeyRenameSerializer,
        responses={
            200: OpenApiResponse(PasskeySerializer, description="Renamed."),
            404: error("No passkey with this id belongs to the user.", "not_found"),
        },
    )
    def partial_update(self, request, passkey_id):
        # PATCH only: no `update`, so the router routes no PUT.
        passkey = self.get_object()
        data = PasskeyRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        renamed = services.passkey_rename(
            user_id=request.user.id,
            passkey_id=passkey.pk,
            name=data.validated_data["name"],
            client=client_info(request),
            sid=request.user.sid,
        )
        return Response(PasskeySerializer(renamed).data)

    @extend_schema(
        operation_id="passkeyDelete",
        summary="Delete a passkey",
        description=(
            "The passkey no longer signs in, and the user's other sessions end (a passkey "
            "is deleted because its device was lost). Deleting the last one is allowed: the "
            "password (and an authenticator app, if any) remain. Needs a recently "
            "authenticated session (`403 reauth_required`: see `POST /auth/reauth/`)."
        ),
        responses={
            204: OpenApiResponse(description="Deleted."),
            404: error("No passkey with this id belongs to the user.", "not_found"),
        },
    )
    def destroy(self, request, passkey_id):
        services.passkey_delete(
            passkey=self.get_object(), client=client_info(request), sid=request.user.sid
        )
        return Response(status=204)


@extend_schema(tags=["passkeys"])
class PasskeyLoginOptionsView(NoStoreMixin, PublicAPIView):
    @extend_schema(
        operation_id="passkeyLoginOptions",
        summary="Start signing in with a passkey",
        request=None,
        responses={200: REQUEST_OPTIONS, 429: RATE_LIMITED},
    )
    def post(self, request):
        """Request options for `navigator.credentials.get()` with a discoverable credential:
        no `allowCredentials` (the browser offers the passkeys it holds for this site), user
        verification required. The challenge works once, for 5 minutes. No request body is
        read."""
        rate_limit_ip(request, "passkey_login_ip")
        return Response(services.passkey_login_options())


@extend_schema(tags=["passkeys"])
class PasskeyLoginView(PublicAPIView):
    @extend_schema(
        operation_id="passkeyLogin",
        summary="Sign in with a passkey",
        request=PasskeyAssertionSerializer,
        parameters=[set_cookie(SET_AUTH_COOKIES, 200)],
        responses={
            200: OpenApiResponse(UserIdSerializer, description="Signed in."),
            401: error(INVALID_CREDENTIAL, "invalid_credential"),
            403: error(
                "`account_disabled`: the passkey was right but the account is deactivated or "
                "banned. `email_not_verified`: it was right but "
                "`AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL` is on and the address is unverified. "
                "`csrf_failed`: see the CSRF rule.",
                "account_disabled",
                "email_not_verified",
                CSRF_FAILED_EXAMPLE,
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """The authenticator's answer (`credential.toJSON()`) to the login options. Starts a
        session like a password login and sets both auth cookies; the access token's `amr`
        is `["hwk", "mfa"]` for a device-bound passkey or `["swk", "mfa"]` for a synced one:
        a passkey with user verification is two factors, so no second step follows."""
        rate_limit_ip(request, "passkey_login_ip")
        data = PasskeyAssertionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.passkey_login(
            credential=data.validated_data["credential"], client=client_info(request)
        )
        response = Response({"id": issued.user_id})
        set_auth_cookies(response, issued)
        return response


def _challenge_refused(view, exc):
    response = view.handle_exception(exc)
    # A dead challenge is of no further use to the browser.
    clear_challenge_cookie(response)
    return response


@extend_schema(tags=["2fa"])
class MfaPasskeyOptionsView(NoStoreMixin, PublicAPIView):
    @extend_schema(
        operation_id="mfaPasskeyOptions",
        summary="Start the 2FA step with a passkey",
        description="An addition to the contract.",
        auth=[{"mfaChallengeCookie": [], **CSRF}],
        request=None,
        responses={
            200: REQUEST_OPTIONS,
            400: error("`mfa_not_enabled`: the account has no passkey.", "mfa_not_enabled"),
            401: error(
                "`mfa_challenge_expired`: no live login challenge; log in again.",
                "mfa_challenge_expired",
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """After `POST /auth/login/` answered `mfa_required` with `"passkey"` among the
        `methods`: request options for the account's passkeys (`allowCredentials`), user
        verification preferred (the password was the first factor)."""
        rate_limit_ip(request, "mfa_verify_ip")
        try:
            options = services.mfa_passkey_options(token=request.COOKIES.get(CHALLENGE_COOKIE))
        except MfaChallengeExpired as exc:
            return _challenge_refused(self, exc)
        return Response(options)


@extend_schema(tags=["2fa"])
class MfaPasskeyView(PublicAPIView):
    @extend_schema(
        operation_id="mfaPasskey",
        summary="Finish a 2FA login with a passkey",
        description="An addition to the contract.",
        auth=[{"mfaChallengeCookie": [], **CSRF}],
        request=PasskeyAssertionSerializer,
        parameters=[set_cookie(SET_AUTH_COOKIES, 200)],
        responses={
            200: OpenApiResponse(UserIdSerializer, description="Signed in."),
            401: error(
                f"{INVALID_CREDENTIAL} `mfa_challenge_expired`: no live login challenge (also "
                "after `AUTHSVC_MFA_CHALLENGE_MAX_FAILURES` wrong answers); log in again.",
                "invalid_credential",
                "mfa_challenge_expired",
            ),
            403: error(
                "`account_disabled` (after a right answer) or `csrf_failed`.",
                "account_disabled",
                "csrf_failed",
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """The authenticator's answer to `POST /auth/2fa/passkey/options/`: starts the
        session like `POST /auth/2fa/verify/` does, with `amr` `["pwd", "hwk" or "swk",
        "mfa"]`; the challenge cookie is cleared."""
        rate_limit_ip(request, "mfa_verify_ip")
        data = PasskeyAssertionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            issued = services.mfa_passkey_complete(
                token=request.COOKIES.get(CHALLENGE_COOKIE),
                credential=data.validated_data["credential"],
                client=client_info(request),
            )
        except MfaChallengeExpired as exc:
            return _challenge_refused(self, exc)
        response = Response({"id": issued.user_id})
        set_auth_cookies(response, issued)
        clear_challenge_cookie(response)
        return response


@extend_schema(tags=["account"])
class PasskeyReauthOptionsView(NoStoreMixin, APIView):
    @extend_schema(
        operation_id="reauthPasskeyOptions",
        summary="Start proving a passkey again (step-up)",
        description="An addition to the contract.",
        request=None,
        responses={
            200: REQUEST_OPTIONS,
            400: error("`mfa_not_enabled`: the account has no passkey.", "mfa_not_enabled"),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """Request options for the account's passkeys, the challenge bound to this session;
        answer at `POST /auth/reauth/passkey/`. No request body is read."""
        rate_limit(request, group="passkey_options_user", key=str(request.user.id))
        options = services.passkey_reauth_options(
            user_id=request.user.id, session_id=request.user.sid
        )
        return Response(options)


@extend_schema(tags=["account"])
class PasskeyReauthView(APIView):
    @extend_schema(
        operation_id="reauthPasskey",
        summary="Prove a passkey again (step-up)",
        description="An addition to the contract.",
        request=PasskeyAssertionSerializer,
        responses={
            200: OpenApiResponse(
                AuthTimeSerializer, description="The session counts as freshly authenticated."
            ),
            401: error(
                f"{INVALID_CREDENTIAL} Or the access token's `not_authenticated` / "
                "`invalid_token`.",
                "invalid_credential",
            ),
            429: RATE_LIMITED,
        },
    )
    def post(self, request):
        """As `POST /auth/reauth/`, with one of the account's passkeys instead of a password
        or a code: the way an account whose second factor is a passkey (and no app) steps
        up, since its password alone is refused there. Failures per client IP count toward
        `AUTHSVC_RATE_REAUTH_FAILED_IP`."""
        data = PasskeyAssertionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_info(request)
        limit = {"group": "reauth_failed_ip", "key": client.ip or ""}
        with failures_limited(request, **limit, failures=(InvalidCredential,)):
            auth_time = services.passkey_reauth(
                user_id=request.user.id,
                session_id=request.user.sid,
                credential=data.validated_data["credential"],
                client=client,
            )
        return Response({"auth_time": auth_time})
