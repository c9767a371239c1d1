"""The login challenge cookie: HttpOnly, SameSite=Strict, scoped to /auth/2fa/."""

from django.conf import settings
from django.http import HttpResponse

from tokens.conf import token_settings

CHALLENGE_COOKIE = "mfa_challenge"
# Only the verify endpoint needs it.
CHALLENGE_COOKIE_PATH = "/auth/2fa/"


def set_challenge_cookie(response: HttpResponse, token: str) -> None:
    response.set_cookie(
        CHALLENGE_COOKIE,
        token,
        max_age=settings.AUTHSVC_MFA_CHALLENGE_TTL_SECONDS,
        path=CHALLENGE_COOKIE_PATH,
        domain=token_settings.cookie_domain,
        secure=token_settings.cookie_secure,
        httponly=True,
        samesite="Strict",
    )


def clear_challenge_cookie(response: HttpResponse) -> None:
    response.set_cookie(
        CHALLENGE_COOKIE,
        "",
        max_age=0,
        expires="Thu, 01 Jan 1970 00:00:00 GMT",
        path=CHALLENGE_COOKIE_PATH,
        domain=token_settings.cookie_domain,
        secure=token_settings.cookie_secure,
        httponly=True,
        samesite="Strict",
    )
