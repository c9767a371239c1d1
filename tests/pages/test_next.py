"""`?next=` is followed only to this origin or an origin in AUTHSVC_CORS_ALLOWED_ORIGINS
(pages/next.py), however the address is disguised."""

import pytest
from django.test import RequestFactory, override_settings

from pages.next import DEFAULT_NEXT, safe_next


@pytest.fixture
def request_(settings):
    settings.ALLOWED_HOSTS = ["auth.example.com"]
    return RequestFactory().get("/login/", HTTP_HOST="auth.example.com", secure=True)


ALLOWED = [
    "/account/",
    "/account/?tab=sessions#2fa",
    "/auth/resume/?next=%2Faccount%2F",
    "https://auth.example.com/account/",
    "https://auth.example.com:443/x",
    "HTTPS://AUTH.EXAMPLE.COM/x",
    "https://app.example.com/dashboard",
    "https://app.example.com:443/",
]

REFUSED = [
    "",
    None,
    "account/",
    "evil.com",
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/\\/evil.com",
    "\\/evil.com",
    "/%5Cevil.com",
    "/%2F%2Fevil.com",
    "%2F%2Fevil.com",
    "/%252F%252Fevil.com",
    "https://evil.com/",
    "http://auth.example.com/account/",  # another scheme is another origin
    "https://auth.example.com:8443/",
    "https://app.example.com.evil.com/",
    "https://evil.com#https://app.example.com",
    "https://app.example.com@evil.com/",
    "https://user:pass@app.example.com/",
    "https://auth.example.com@evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://app.example.com/",
    " /account/",
    "\t//evil.com",
    "/account/\r\nSet-Cookie: x=1",
    "/\x00/evil.com",
    "https:evil.com",
    "https:/evil.com",
    "https://app.example.com:99999/",
    "https://app.example.com:port/",
    "/" + "a" * 3000,
    "https://[::1]/",
]


@override_settings(AUTHSVC_CORS_ALLOWED_ORIGINS=["https://app.example.com"])
@pytest.mark.parametrize("value", ALLOWED)
def test_own_paths_and_allowed_origins_are_followed(value, request_):
    assert safe_next(value, request_) == value


@override_settings(AUTHSVC_CORS_ALLOWED_ORIGINS=["https://app.example.com"])
@pytest.mark.parametrize("value", REFUSED)
def test_everything_else_becomes_the_default(value, request_):
    assert safe_next(value, request_) == DEFAULT_NEXT


def test_an_origin_is_allowed_only_while_it_is_configured(request_):
    with override_settings(AUTHSVC_CORS_ALLOWED_ORIGINS=[]):
        assert safe_next("https://app.example.com/x", request_) == DEFAULT_NEXT
    with override_settings(AUTHSVC_CORS_ALLOWED_ORIGINS=["https://app.example.com"]):
        assert safe_next("https://app.example.com/x", request_) == "https://app.example.com/x"


def test_the_default_is_the_callers(request_):
    assert safe_next("//evil.com", request_, default="/login/") == "/login/"
