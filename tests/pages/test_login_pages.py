"""/login/, /login/2fa/, /register/, /logout/, / and the refresh hop: the API's services,
cookies, limits, lockout and audit events, behind accessible forms."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail

from accounts.models import User
from audit.models import AuthEvent
from tests.accounts.mfa_helpers import enrol
from tests.conftest import DEFAULT_PASSWORD, AuthClient, lockout_failures
from tests.pages.conftest import PageClient, field_html, label_for

pytestmark = pytest.mark.django_db


def test_root_leads_to_login_or_to_the_account(browser, user):
    assert browser.get("/")["Location"] == "/login/"
    browser.sign_in(user.email)
    assert browser.get("/")["Location"] == "/account/"


def test_the_login_form_is_labelled_and_fillable(browser):
    response = browser.get("/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "no-store"
    assert 'autocomplete="username"' in field_html(html, "email")
    assert 'autocomplete="current-password"' in field_html(html, "password")
    assert label_for(html, "id_email") and label_for(html, "id_password")
    assert 'name="csrfmiddlewaretoken"' in html
    # The one script: the same-origin module behind "Sign in with a passkey" (hidden
    # until it runs); no inline code.
    assert html.count("<script") == 1
    assert '<script type="module" src="/static/pages/passkeys.js"></script>' in html
    assert '<a href="/password/reset/">' in html


def test_a_page_login_is_an_api_login(browser, user):
    response = browser.sign_in(user.email)
    assert response.status_code == 303
    assert response["Location"] == "/account/"
    access = response.cookies["access_token"]
    assert access["httponly"] and access["path"] == "/" and access["samesite"] == "Lax"
    assert response.cookies["refresh_token"]["path"] == "/auth/"
    assert response["Cache-Control"] == "no-store"
    # The API takes the page's cookies as its own.
    api = AuthClient()
    api.cookies["access_token"] = browser.cookie("access_token")
    assert api.get("/auth/self/").json()["email"] == user.email
    assert AuthEvent.objects.filter(type="login_succeeded", user_id=user.pk).exists()


def test_an_api_login_is_a_page_login(logged_in, user):
    browser = PageClient()
    browser.cookies["access_token"] = logged_in.cookie("access_token")
    response = browser.get("/account/")
    assert response.status_code == 200
    assert user.email in response.content.decode()


def test_a_wrong_password_and_an_unknown_email_read_the_same(browser, user):
    wrong = browser.sign_in(user.email, "not the password")
    unknown = browser.sign_in("nobody@example.com", "not the password")
    for response in (wrong, unknown):
        html = response.content.decode()
        assert response.status_code == 400
        assert "The email or password is incorrect." in html
        assert 'role="alert"' in html
        assert "access_token" not in response.cookies
    assert lockout_failures(user.email) == 1


def test_missing_fields_are_marked_on_the_fields(browser):
    response = browser.submit("/login/", {"email": "", "password": ""})
    html = response.content.decode()
    assert response.status_code == 400
    email = field_html(html, "email")
    assert 'aria-invalid="true"' in email and 'aria-describedby="id_email_error"' in email
    assert 'id="id_email_error"' in html


def test_the_login_is_rate_limited_per_ip_like_the_api(browser, settings, user):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "login_failed_ip": "2/m"}
    for _ in range(2):
        assert browser.sign_in(user.email, "wrong").status_code == 400
    response = browser.sign_in(user.email)  # even the right password waits
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    # The API shares the counter.
    assert AuthClient().login(user.email).status_code == 429


def test_the_account_lockout_holds_on_the_page(browser, settings, user):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "login_failed_ip": "100/m"}
    for _ in range(settings.AUTHSVC_LOGIN_FREE_FAILURES + 1):
        browser.sign_in(user.email, "wrong")
    response = browser.sign_in(user.email)
    assert response.status_code == 429
    assert "access_token" not in response.cookies


def test_csrf_is_enforced_on_the_forms(user):
    browser = PageClient()
    browser.get("/login/")
    response = browser.post("/login/", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert "access_token" not in response.cookies


def test_next_is_followed_only_when_safe(browser, user):
    ok = browser.submit(
        "/login/", {"email": user.email, "password": DEFAULT_PASSWORD, "next": "/account/#2fa"}
    )
    assert ok["Location"] == "/account/#2fa"
    other = PageClient()
    evil = other.submit(
        "/login/", {"email": user.email, "password": DEFAULT_PASSWORD, "next": "//evil.com/"}
    )
    assert evil["Location"] == "/account/"
    html = PageClient().get("/login/?next=https://evil.com/").content.decode()
    assert 'value="/account/"' in field_html(html, "next")


def test_a_signed_in_visitor_of_login_goes_on(signed_in):
    assert signed_in.get("/login/?next=/account/%23sessions")["Location"] == "/account/#sessions"


def test_register_signs_in_and_sends_the_verification_link(browser):
    html = browser.get("/register/").content.decode()
    assert 'autocomplete="new-password"' in field_html(html, "password")
    assert 'autocomplete="username"' in field_html(html, "email")
    assert 'autocomplete="name"' in field_html(html, "name")
    response = browser.submit(
        "/register/", {"email": "New@Example.com", "password": DEFAULT_PASSWORD, "name": "N"}
    )
    assert response.status_code == 303
    assert response.cookies["access_token"].value
    assert User.objects.get(email="new@example.com").name == "N"
    assert len(mail.outbox) == 1
    assert "/email/verify/?key=" in mail.outbox[0].body


def test_register_refuses_a_weak_password_next_to_the_field(browser):
    response = browser.submit("/register/", {"email": "a@example.com", "password": "password"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'aria-invalid="true"' in field_html(html, "password")
    assert "too common" in html


def test_register_with_a_taken_address(browser, user):
    response = browser.submit("/register/", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 409
    assert "already exists" in response.content.decode()


def test_register_waits_for_the_email_when_logins_need_it(browser, settings):
    settings.AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL = True
    response = browser.submit(
        "/register/", {"email": "b@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert "access_token" not in response.cookies


def test_logout_asks_on_get_and_ends_the_session_on_post(signed_in, user):
    page = signed_in.get("/logout/")
    assert page.status_code == 200
    assert 'method="post" action="/logout/"' in page.content.decode()
    access = signed_in.cookie("access_token")
    response = signed_in.submit("/logout/")
    assert response.status_code == 303 and response["Location"] == "/login/"
    assert response.cookies["access_token"].value == ""
    api = AuthClient()
    api.cookies["access_token"] = access
    assert api.get("/auth/self/").status_code == 401
    assert AuthEvent.objects.filter(type="logout", user_id=user.pk).exists()


def test_logout_without_csrf_is_refused(signed_in):
    assert signed_in.post("/logout/").status_code == 403


def test_two_factor_login_with_a_code_and_with_a_backup_code(logged_in, user, clock):
    enrolled = enrol(logged_in, clock)
    browser = PageClient()
    response = browser.sign_in(user.email)
    assert response.status_code == 303
    assert response["Location"] == "/login/2fa/?methods=totp%2Cbackup_code&next=%2Faccount%2F"
    challenge = response.cookies["mfa_challenge"]
    # The API's own challenge cookie: the form posts where it is sent.
    assert challenge["path"] == "/auth/2fa/" and challenge["samesite"] == "Strict"
    assert "access_token" not in response.cookies
    page = browser.get("/login/2fa/").content.decode()
    assert 'autocomplete="one-time-code"' in field_html(page, "code")
    assert 'action="/auth/2fa/page/"' in page
    wrong = browser.submit("/auth/2fa/page/", {"code": "000000"})
    assert wrong.status_code == 400
    assert "invalid or has already been used" in wrong.content.decode()
    ok = browser.submit("/auth/2fa/page/", {"code": enrolled.code(clock)})
    assert ok.status_code == 303 and ok["Location"] == "/account/"
    assert ok.cookies["access_token"].value
    assert ok.cookies["mfa_challenge"].value == ""

    other = PageClient()
    other.sign_in(user.email)
    backup = other.submit("/auth/2fa/page/", {"code": enrolled.backup_codes[0]})
    assert backup.status_code == 303


def test_the_second_step_without_a_challenge_goes_back_to_the_password(browser):
    response = browser.submit("/auth/2fa/page/", {"code": "123456", "next": "/account/"})
    assert response.status_code == 303
    assert response["Location"] == "/login/?next=%2Faccount%2F"
    assert "sign in again" in browser.get(response["Location"]).content.decode()


def test_a_google_login_with_2fa_finishes_on_the_pages(logged_in, user, clock, google):
    from social_django.models import UserSocialAuth

    enrolled = enrol(logged_in, clock)
    UserSocialAuth.objects.create(user=user, provider="google-oauth2", uid="g-1")
    browser = PageClient()
    start = browser.get("/auth/google/")
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    google.answers(sub="g-1", email=user.email)
    landed = browser.get("/auth/google/callback/", {"state": state, "code": "c"})
    assert "mfa_required=1" in landed["Location"]
    assert browser.get("/?mfa_required=1")["Location"] == "/login/2fa/"
    response = browser.submit("/auth/2fa/page/", {"code": enrolled.code(clock)})
    assert response.status_code == 303 and response["Location"] == "/account/"


def test_google_errors_land_on_the_login_page_with_a_sentence(browser):
    response = browser.get("/?error=access_denied")
    assert response["Location"] == "/login/"
    assert "cancelled at Google" in browser.get("/login/").content.decode()


def test_a_page_without_a_user_goes_through_the_refresh_hop(browser):
    response = browser.get("/account/")
    assert response.status_code == 303
    assert response["Location"] == "/auth/resume/?next=%2Faccount%2F"
    # No refresh cookie: on to the login, keeping where to go.
    assert browser.get(response["Location"])["Location"] == "/login/?next=%2Faccount%2F"


def test_the_refresh_hop_renews_an_expired_access_cookie(signed_in, user):
    old_refresh = signed_in.cookie("refresh_token")
    del signed_in.cookies["access_token"]  # the browser dropped it at its max-age
    hop = signed_in.get("/account/")["Location"]
    response = signed_in.get(hop)
    assert response.status_code == 303 and response["Location"] == "/account/"
    assert response.cookies["access_token"].value
    assert response.cookies["refresh_token"].value != old_refresh
    assert signed_in.get("/account/").status_code == 200


def test_the_refresh_hop_refuses_a_cross_site_request(signed_in):
    del signed_in.cookies["access_token"]
    response = signed_in.get("/auth/resume/?next=/account/", HTTP_SEC_FETCH_SITE="cross-site")
    assert response["Location"] == "/login/?next=%2Faccount%2F"
    assert "access_token" not in response.cookies


def test_the_refresh_hop_clears_a_dead_refresh_token(browser):
    browser.cookies["refresh_token"] = "not-a-token"
    response = browser.get("/auth/resume/?next=https://evil.com/")
    assert response["Location"] == "/login/?next=%2Faccount%2F"
    assert response.cookies["refresh_token"].value == ""


def test_api_404s_stay_json_and_page_routes_are_html(browser):
    response = browser.get("/no-such-page/")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert browser.post("/login/").status_code == 403  # no CSRF token: an HTML page


def test_register_counts_every_attempt_like_the_api(browser, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "register_ip": "2/h"}
    browser.submit("/register/", {"email": "", "password": ""})
    browser.submit("/register/", {"email": "bad", "password": "x"})
    response = browser.submit(
        "/register/", {"email": "ok@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    assert not User.objects.filter(email="ok@example.com").exists()


def test_the_second_step_is_rate_limited_per_ip(browser, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "mfa_verify_ip": "1/m"}
    browser.submit("/auth/2fa/page/", {"code": "123456"})
    response = browser.submit("/auth/2fa/page/", {"code": "123456"})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
