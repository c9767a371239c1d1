"""`?next=`: where a page sends the browser afterwards. The one vetted helper every page
uses: a path on this origin, or an absolute URL on this origin or on an origin in
AUTHSVC_CORS_ALLOWED_ORIGINS (the front ends this service trusts). Anything else, however
it is disguised, is replaced by the default."""

from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme

DEFAULT_NEXT = "/account/"
MAX_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, host: str, port: int | None) -> str | None:
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    port = port or _DEFAULT_PORTS[scheme]
    return f"{scheme}://{host.lower()}:{port}"


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        return _origin(parts.scheme, parts.hostname or "", parts.port)
    except ValueError:  # a port that is not a number, or out of range
        return None


def allowed_origins(request) -> set[str]:
    own = _origin_of(request.build_absolute_uri("/"))
    others = {_origin_of(origin) for origin in settings.AUTHSVC_CORS_ALLOWED_ORIGINS}
    return {origin for origin in {own, *others} if origin}


def _suspicious(value: str) -> bool:
    # Browsers read a backslash as a slash ("/\\evil" is "//evil"), drop tabs and newlines
    # inside URLs, and strip leading spaces and control characters; a percent-encoded form
    # of any of these may be decoded by a proxy or a front end on its way. Refuse them all
    # rather than guess which reading wins.
    for text in (value, unquote(value), unquote(unquote(value))):
        if "\\" in text or any(ord(char) < 0x21 or ord(char) == 0x7F for char in text):
            return True
        if text.startswith("//") or text.startswith("/\\"):
            return True
    return False


def safe_next(value, request, default: str = DEFAULT_NEXT) -> str:
    """`value` if it may be followed, else `default`."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        return default
    if _suspicious(value):
        return default
    try:
        parts = urlsplit(value)
    except ValueError:
        return default
    if not parts.scheme and not parts.netloc:
        # A path on this origin: absolute ("/account/"), never relative ("evil.com" or
        # "javascript:..." parsed as a path) so where it leads does not depend on the page.
        if not value.startswith("/"):
            return default
        if not url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}):
            return default
        return value
    # An absolute URL: http(s) only, no userinfo ("https://ours@evil"), on an allowed origin.
    if parts.scheme.lower() not in _DEFAULT_PORTS or "@" in parts.netloc:
        return default
    origin = _origin_of(value)
    if origin is None or origin not in allowed_origins(request):
        return default
    return value
