"""Google login over HTTP. The start and callback are browser navigations, so they answer
with redirects; the callback never shows an error page: every failure lands on the front
end as `?error=<code>`."""

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from social_core.exceptions import (
    AuthCanceled,
    AuthInputError,
    AuthProviderError,
    AuthResponseError,
    AuthSessionError,
    SocialAuthBaseException,
)

from accounts.mfa.challenge import Challenge
from accounts.mfa.cookies import set_challenge_cookie
from accounts.permissions import STEP_UP
from accounts.social import services
from accounts.social.exceptions import (
    GoogleAlreadyLinked,
    GoogleFlowFailed,
    GoogleNotConfigured,
)
from authsvc.api import APIView
from authsvc.errors import ServiceError, database_unavailable, error_body
from authsvc.http import client_info, get_only
from authsvc.ratelimit import rate_limit_ip
from authsvc.schema import error, error_content, operation
from sessions_store.selectors import session_snapshot
from tokens.cookies import set_auth_cookies

logger = logging.getLogger(__name__)

_LINK_KEY = "authsvc_link"


def _configured() -> bool:
    return bool(settings.GOOGLE_OAUTH_CLIENT_ID and settings.GOOGLE_OAUTH_CLIENT_SECRET)


def _backend(request):
    # social-auth's strategy, with python3-openid's discovery and defusedxml under it,
    # loads on a worker's first Google flow (docs/performance.md, "Memory").
    from social_django.utils import load_backend, load_strategy

    redirect_uri = settings.GOOGLE_OAUTH_REDIRECT_URI or request.build_absolute_uri(
        reverse("google-callback")
    )
    strategy = load_strategy(request)
    return strategy, load_backend(strategy, services.PROVIDER, redirect_uri)


def _return_url(**params) -> str:
    """The front end's URL with `params` added to its query."""
    parts = urlsplit(settings.AUTHSVC_GOOGLE_RETURN_URL)
    query = [*parse_qsl(parts.query), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _not_configured() -> JsonResponse:
    return JsonResponse(error_body(GoogleNotConfigured.code), status=404)


NOT_CONFIGURED_404 = {
    "description": (
        "`not_configured`: `GOOGLE_OAUTH_CLIENT_ID` / `GOOGLE_OAUTH_CLIENT_SECRET` are unset."
    ),
    "content": error_content("not_configured"),
}


def google_link_start(request, *, user_id, sid: str, respond):
    """Start linking a Google account to a signed-in user (the API's `POST
    /auth/google/link/` and the account page's button): `respond(url)` makes the door's
    answer (JSON naming the consent page, or a redirect to it), which gets the flow cookie.
    GoogleNotConfigured, or GoogleAlreadyLinked."""
    if not _configured():
        raise GoogleNotConfigured()
    if services.google_linked_email(user_id=user_id) is not None:
        raise GoogleAlreadyLinked()
    from accounts.social.strategy import flow_state_save

    strategy, backend = _backend(request)
    url = backend.auth_url()
    strategy.session[_LINK_KEY] = {"user": str(user_id), "sid": sid}
    response = respond(url)
    flow_state_save(response, strategy.session)
    return response


@operation(
    tags=["google"],
    operationId="googleStart",
    summary='Start "Continue with Google"',
    description="""\
A browser navigation (not a fetch): redirects to Google's consent page for the
scopes `openid email profile`, with `state` and a PKCE `code_challenge` (S256).
Both are also kept in the `google_oauth` cookie (signed, HttpOnly, `SameSite=Lax`,
`Path=/auth/google/`, 10 minutes), so only this browser can complete the flow.
""",
    responses={
        "302": {
            "description": (
                "To `https://accounts.google.com/o/oauth2/auth?...`; sets `google_oauth`."
            ),
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        "404": NOT_CONFIGURED_404,
    },
)
@never_cache
@get_only
def google_start(request):
    """302 to Google's consent page, with `state` and a PKCE challenge kept in the flow
    cookie."""
    if not _configured():
        return _not_configured()
    from accounts.social.strategy import flow_state_save

    strategy, backend = _backend(request)
    strategy.session.pop(_LINK_KEY)  # a login never completes an earlier link attempt
    response = HttpResponseRedirect(backend.auth_url())
    flow_state_save(response, strategy.session)
    return response


@operation(
    tags=["google"],
    operationId="googleCallback",
    summary="Google's redirect back",
    description="""\
Checks `state` against the `google_oauth` cookie, trades the code (with the PKCE
verifier) for Google's profile, and decides who logs in: the local account linked to
this Google account (by Google's `sub`, never by email); else, when Google verified
the email, a new account for it, or the local account with that email if the local
address is verified too (linked on the way). Always a redirect to
`AUTHSVC_GOOGLE_RETURN_URL`, never an error page:
- signed in: both auth cookies set (access token `amr` `["google"]`), no query;
- the account has 2FA: `?mfa_required=1` and the `mfa_challenge` cookie, then
  `POST /auth/2fa/verify/` as after a password (`amr` `["google", "otp"]`);
- after a link started with `POST /auth/google/link/`: `?linked=google`;
- a failure: `?error=<code>`, one of `account_exists` (a local account has this
  email but it is not verified, or Google's isn't, or it is linked to another Google
  account: sign in with the password and link Google from the account),
  `email_not_verified` (Google has not verified the address), `account_disabled`,
  `google_account_in_use` (linking a Google account that another account has),
  `not_authenticated` (the session that asked to link has ended),
  `access_denied` (consent refused), `invalid_state` (tampered, replayed, expired,
  or another browser's flow), `google_error` (Google refused the code or answered
  badly), `google_unavailable` (Google timed out or could not be reached),
  `rate_limited`, `server_error`.
""",
    parameters=[
        {"name": name, "in": "query", "schema": {"type": "string"}}
        for name in ("state", "code", "error")
    ],
    responses={
        "302": {
            "description": "To `AUTHSVC_GOOGLE_RETURN_URL`, as above; `google_oauth` is cleared.",
            "headers": {
                "Location": {"schema": {"type": "string"}},
                "Set-Cookie": {
                    "description": (
                        "The two auth cookies, or `mfa_challenge`, or none; always the "
                        "expired `google_oauth`."
                    ),
                    "schema": {"type": "string"},
                },
            },
        },
        "404": {**NOT_CONFIGURED_404, "description": "`not_configured`."},
    },
)
@never_cache
@get_only
def google_callback(request):
    if not _configured():
        return _not_configured()
    client = client_info(request)
    try:
        response = _callback(request, client)
    except ServiceError as exc:
        response = HttpResponseRedirect(_return_url(error=exc.code))
    except SocialAuthBaseException as exc:
        logger.info("Google login failed: %s (%s)", type(exc).__name__, exc.code)
        response = HttpResponseRedirect(_return_url(error=_social_error_code(exc)))
    except Exception as exc:
        if database_unavailable(exc):
            logger.warning("Google login failed: database unavailable (%s)", exc)
            response = HttpResponseRedirect(_return_url(error="unavailable"))
        else:
            logger.exception("Google login failed unexpectedly")
            response = HttpResponseRedirect(_return_url(error="server_error"))
    from accounts.social.strategy import flow_state_clear

    # The flow's state is single-use, whatever happened.
    flow_state_clear(response)
    return response


def _callback(request, client):
    rate_limit_ip(request, "google_callback_ip")
    strategy, backend = _backend(request)
    link = strategy.session.get(_LINK_KEY)
    if link:
        # The link was asked for by a session that must still be alive.
        snapshot = session_snapshot(link.get("sid", ""))
        if snapshot is None or snapshot.user_id != link.get("user"):
            raise GoogleFlowFailed("not_authenticated")
        backend.complete(client=client, link_user_id=link["user"])
        return HttpResponseRedirect(_return_url(linked="google"))
    user = backend.complete(client=client)
    if user is None:
        raise GoogleFlowFailed("google_error")
    outcome = services.google_login_finish(user=user, client=client)
    if isinstance(outcome, Challenge):
        response = HttpResponseRedirect(_return_url(mfa_required="1"))
        set_challenge_cookie(response, outcome.token)
        return response
    response = HttpResponseRedirect(_return_url())
    set_auth_cookies(response, outcome)
    return response


def _social_error_code(exc: SocialAuthBaseException) -> str:
    if isinstance(exc, AuthCanceled):
        return "access_denied"
    if isinstance(exc, AuthSessionError | AuthInputError):
        return "invalid_state"
    if isinstance(exc, AuthResponseError) and exc.claim == "email_verified":
        return "email_not_verified"
    if isinstance(exc, AuthProviderError) and exc.code in {"timeout", "connection_failed"}:
        return "google_unavailable"
    return "google_error"


NOT_CONFIGURED = error("`not_configured`.", "not_configured")


@extend_schema(tags=["google"])
class GoogleLinkView(APIView):
    # The signed-in user's Google link: see it, start linking, unlink. Linking and
    # unlinking need a recently authenticated session: a Google account linked by a thief
    # would be a way back in after the owner changed the password.

    permission_classes = STEP_UP

    @extend_schema(
        operation_id="googleLinkStatus",
        summary="Is a Google account linked?",
        responses={
            200: OpenApiResponse(
                inline_serializer(
                    "GoogleLink",
                    {
                        "linked": serializers.BooleanField(),
                        "email": serializers.EmailField(allow_null=True),
                    },
                ),
                description="The link, with the Google account's address.",
            )
        },
    )
    def get(self, request):
        email = services.google_linked_email(user_id=request.user.id)
        return Response({"linked": email is not None, "email": email or None})

    @extend_schema(
        operation_id="googleLinkStart",
        summary="Start linking a Google account",
        request=None,
        responses={
            200: OpenApiResponse(
                inline_serializer(
                    "GoogleAuthorizationUrl", {"authorization_url": serializers.URLField()}
                ),
                description="Where to send the browser.",
            ),
            404: NOT_CONFIGURED,
            409: error(
                "`google_already_linked`: unlink the current one first.", "google_already_linked"
            ),
        },
    )
    def post(self, request):
        """Answers the consent-page URL to navigate to (and sets the `google_oauth` cookie);
        the callback then links that Google account to this user instead of logging in, and
        lands on `?linked=google`. No request body is read. Needs a recently authenticated
        session (`403 reauth_required`: see `POST /auth/reauth/`)."""
        return google_link_start(
            request._request,
            user_id=request.user.id,
            sid=request.user.sid,
            respond=lambda url: Response({"authorization_url": url}),
        )

    @extend_schema(
        operation_id="googleUnlink",
        summary="Unlink the Google account",
        responses={
            204: OpenApiResponse(description="Unlinked."),
            404: error("`not_found`: no Google account is linked.", "not_found"),
            409: error(
                "`last_login_method`: set a password first (the password reset flow works for "
                "such accounts).",
                "last_login_method",
            ),
        },
    )
    def delete(self, request):
        """Refused while Google is the account's only way to log in (no password). Needs a
        recently authenticated session (`403 reauth_required`: see `POST /auth/reauth/`)."""
        services.google_unlink(user_id=request.user.id, client=client_info(request))
        return Response(status=204)
