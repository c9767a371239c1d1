"""The two auth cookies, with exactly the flags the contract names."""

from django.http import HttpResponse

from tokens.conf import token_settings

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
ACCESS_COOKIE_PATH = "/"
# The refresh token only ever needs to reach /auth/ (refresh, logout), never the app's pages.
REFRESH_COOKIE_PATH = "/auth/"


def set_auth_cookies(response: HttpResponse, issued) -> None:
    response.set_cookie(
        ACCESS_COOKIE,
        issued.access_token,
        max_age=int(token_settings.access_ttl.total_seconds()),
        path=ACCESS_COOKIE_PATH,
        domain=token_settings.cookie_domain,
        secure=token_settings.cookie_secure,
        httponly=True,
        samesite="Lax",
    )
    response.set_cookie(
        REFRESH_COOKIE,
        issued.refresh_token,
        max_age=int(token_settings.refresh_ttl.total_seconds()),
        path=REFRESH_COOKIE_PATH,
        domain=token_settings.cookie_domain,
        secure=token_settings.cookie_secure,
        httponly=True,
        samesite="Strict",
    )


def clear_auth_cookies(response: HttpResponse) -> None:
    # Same flags as when set: a browser ignores a deletion that would downgrade Secure.
    for name, path, samesite in (
        (ACCESS_COOKIE, ACCESS_COOKIE_PATH, "Lax"),
        (REFRESH_COOKIE, REFRESH_COOKIE_PATH, "Strict"),
    ):
        response.set_cookie(
            name,
            "",
            max_age=0,
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
            path=path,
            domain=token_settings.cookie_domain,
            secure=token_settings.cookie_secure,
            httponly=True,
            samesite=samesite,
        )
