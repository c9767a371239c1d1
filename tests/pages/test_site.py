"""What every page shares: the headers, the stylesheet, the brand from settings, and HTML
error pages for the page routes (the API's stay JSON)."""

import re

import pytest
from django.core.checks import run_checks
from django.db.utils import OperationalError

from pages.branding import brand, ink_on

pytestmark = pytest.mark.django_db

PAGES = [
    "/login/",
    "/login/code/",
    "/register/",
    "/password/reset/",
    "/password/reset/confirm/?uid=a&token=b",
    "/email/verify/?key=k",
    "/email/change/confirm/?key=k",
]

PASSKEY_PAGES = {"/login/"}
PASSKEY_SCRIPT = '<script type="module" src="/static/pages/passkeys.js"></script>'


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_strict_about_framing_scripts_and_caching(browser, path):
    response = browser.get(path)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    # No inline script: only the pages that offer passkeys (/login/, /login/2fa/, /account/)
    # load one script, the same-origin module that runs WebAuthn.
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    if path in PASSKEY_PAGES:
        assert PASSKEY_SCRIPT in html and scripts == [""]
    else:
        assert "<script" not in html
    assert re.search(r"<[^>]+\son[a-z]+=", html) is None  # no inline event handler
    assert "//cdn" not in html and "https://" not in html
    assert '<link rel="stylesheet" href="/static/pages/site.css">' in html


def test_the_stylesheet_is_served_from_this_origin(browser):
    response = browser.get("/static/pages/site.css")
    assert response.status_code == 200
    assert b"--brand" in b"".join(response.streaming_content)


def test_the_brand_comes_from_settings(browser, settings):
    settings.AUTHSVC_SERVICE_NAME = "Acme Accounts"
    settings.AUTHSVC_BRAND_COLOR = "#FACC15"
    html = browser.get("/login/").content.decode()
    assert "<title>Sign in · Acme Accounts</title>" in html
    assert "--brand: #FACC15; --brand-ink: #111827;" in html


def test_the_ink_on_the_brand_colour_is_the_readable_one():
    assert ink_on("#2563eb") == "#ffffff"
    assert ink_on("#facc15") == "#111827"
    assert ink_on("#000000") == "#ffffff"
    assert ink_on("#ffffff") == "#111827"


@pytest.mark.parametrize(
    "value", ["red", "#fff", "#12345g", "#123456; } body { x", "#1234567", "", "  #123456"]
)
def test_a_brand_colour_that_is_not_rrggbb_is_refused(settings, value):
    settings.AUTHSVC_BRAND_COLOR = value
    assert "authsvc.E070" in [e.id for e in run_checks()]
    # Never written into the page meanwhile.
    assert brand()["brand_color"] == "#2563eb"


def test_a_good_brand_colour_passes_the_check(settings):
    settings.AUTHSVC_BRAND_COLOR = "#0f766e"
    assert "authsvc.E070" not in [e.id for e in run_checks()]


def test_a_page_answers_an_html_503_when_the_database_is_down(browser, monkeypatch):
    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("accounts.services.user_login", down)
    response = browser.submit("/login/", {"email": "a@example.com", "password": "x"})
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "Temporarily unavailable" in response.content.decode()
    assert response["Retry-After"]


def test_a_page_answers_an_html_500_on_a_bug(browser, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("accounts.services.user_login", broken)
    browser.raise_request_exception = False
    response = browser.submit("/login/", {"email": "a@example.com", "password": "x"})
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "Something went wrong" in response.content.decode()


def test_the_api_keeps_its_json_errors(api, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("accounts.services.user_login", broken)
    api.raise_request_exception = False
    response = api.login("a@example.com")
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
