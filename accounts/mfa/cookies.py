"""The login challenge cookie: HttpOnly, SameSite=Strict, scoped to /auth/2fa/."""

from django.conf import settings
from django.http import HttpResponse

from tokens.cookies import expire_cookie, set_cookie

CHALLENGE_COOKIE = "mfa_challenge"
# Only the verify endpoint needs it.
CHALLENGE_COOKIE_PATH = "/auth/2fa/"


def set_challenge_cookie(response: HttpResponse, token: str) -> None:
    set_cookie(
        response,
        CHALLENGE_COOKIE,
        token,
        max_age=settings.AUTHSVC_MFA_CHALLENGE_TTL_SECONDS,
        path=CHALLENGE_COOKIE_PATH,
        samesite="Strict",
    )


def clear_challenge_cookie(response: HttpResponse) -> None:
    expire_cookie(response, CHALLENGE_COOKIE, path=CHALLENGE_COOKIE_PATH, samesite="Strict")
