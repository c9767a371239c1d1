"""Who is signed in, for a page: the API's access cookie, checked exactly as the API checks
it (`tokens.authentication.access_token_principal`).

The refresh cookie is scoped to /auth/ (the contract), so a page never sees it. When the
access cookie is missing or expired, a page that needs a user sends the browser through
`/auth/resume/` (pages/views/auth.py), which rotates the refresh token server-side, sets
both cookies and comes back; without a live refresh token it ends at /login/.
"""

from functools import wraps
from urllib.parse import urlencode

from django.http import HttpResponseRedirect

from tokens.authentication import SessionPrincipal, access_token_principal
from tokens.cookies import ACCESS_COOKIE
from tokens.exceptions import TokenInvalid

_UNSET = object()


def page_user(request) -> SessionPrincipal | None:
    """The signed-in user of this request, or None; looked up once per request."""
    cached = getattr(request, "_page_user", _UNSET)
    if cached is not _UNSET:
        return cached
    user = None
    raw = request.COOKIES.get(ACCESS_COOKIE)
    if raw:
        try:
            user = access_token_principal(raw)
        except TokenInvalid:
            user = None
    request._page_user = user
    return user


def with_next(path: str, next_url: str | None) -> str:
    return f"{path}?{urlencode({'next': next_url})}" if next_url else path


def resume_url(next_url: str) -> str:
    return with_next("/auth/resume/", next_url)


def signed_in(view):
    """The page needs a user: without one, a GET goes through the refresh hop and comes
    back; a form posted without one (its access token expired while the page was open)
    goes back to the page it came from, the same way, and is posted again by the user."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = page_user(request)
        if user is None:
            back = request.get_full_path() if request.method == "GET" else _form_page(request)
            response = HttpResponseRedirect(resume_url(back))
            response.status_code = 303
            return response
        request.page_user = user
        return view(request, *args, **kwargs)

    return wrapper


def _form_page(request) -> str:
    # The account's forms post to /account/<something>/: back to the account page.
    return "/account/" if request.path.startswith("/account/") else request.path
