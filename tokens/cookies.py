"""The two auth cookies, with exactly the flags the contract names."""

from django.http import HttpResponse

from authsvc import clock
from authsvc.http import response_no_store
from tokens.conf import token_settings

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
ACCESS_COOKIE_PATH = "/"
# The refresh token only ever needs to reach /auth/ (refresh, logout), never the app's pages.
REFRESH_COOKIE_PATH = "/auth/"


def set_cookie(
    response: HttpResponse, name: str, value: str, *, max_age: int, path: str, samesite: str
) -> None:
    """An HttpOnly cookie with the service's `Secure` and `Domain` settings. A cross-site
    deployment (AUTHSVC_COOKIE_CROSS_SITE) sends every one with `SameSite=None` instead, or
    the browser would leave it off the front end's requests."""
    if token_settings.cookie_cross_site:
        samesite = "None"
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        domain=token_settings.cookie_domain,
        secure=token_settings.cookie_secure,
        httponly=True,
        samesite=samesite,
    )


def expire_cookie(response: HttpResponse, name: str, *, path: str, samesite: str) -> None:
    # Same flags as when set: a browser ignores a deletion that would downgrade Secure.
    set_cookie(response, name, "", max_age=0, path=path, samesite=samesite)
    response.cookies[name]["expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"


def set_auth_cookies(response: HttpResponse, issued) -> None:
    # Every response that hands out tokens (login, register, refresh, 2FA, Google) passes
    # here: none of them may be cached.
    response_no_store(response)
    set_cookie(
        response,
        ACCESS_COOKIE,
        issued.access_token,
        max_age=int(token_settings.access_ttl.total_seconds()),
        path=ACCESS_COOKIE_PATH,
        samesite="Lax",
    )
    set_cookie(
        response,
        REFRESH_COOKIE,
        issued.refresh_token,
        # Until the token's own expiry, which the session's maximum age may bring forward.
        max_age=max(0, round((issued.refresh_expires_at - clock.now()).total_seconds())),
        path=REFRESH_COOKIE_PATH,
        samesite="Strict",
    )


def clear_auth_cookies(response: HttpResponse) -> None:
    expire_cookie(response, ACCESS_COOKIE, path=ACCESS_COOKIE_PATH, samesite="Lax")
    expire_cookie(response, REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, samesite="Strict")
