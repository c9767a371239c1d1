"""/account/: profile, email, password, sessions, 2FA and step-up, over the API's services."""

import base64
import re
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from django.core import mail

from accounts.models import User
from sessions_store.models import Session
from tests.conftest import DEFAULT_PASSWORD, AuthClient
from tests.pages.conftest import PageClient, field_html

pytestmark = pytest.mark.django_db


def stale(clock, settings):
    """Move past the step-up window of every session opened so far."""
    clock.advance(seconds=settings.AUTHSVC_REAUTH_MAX_AGE_SECONDS + 1)


def test_the_account_page_shows_the_user_and_their_sessions(signed_in, user, logged_in):
    response = signed_in.get("/account/")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert user.email in html
    assert html.count("/revoke/") == 2  # this browser and the API client
    assert "this browser" in html
    assert 'autocomplete="new-password"' in field_html(html, "new_password")
    assert 'autocomplete="current-password"' in field_html(html, "current_password")


def test_the_name_is_saved_and_reaches_the_session(signed_in, user):
    response = signed_in.submit("/account/profile/", {"name": "Alice B."})
    assert response.status_code == 303
    assert User.objects.get(pk=user.pk).name == "Alice B."
    api = AuthClient()
    api.cookies["access_token"] = signed_in.cookie("access_token")
    assert api.get("/auth/self/").json()["name"] == "Alice B."
    assert "Your name is saved." in signed_in.get("/account/").content.decode()


def test_forms_need_the_csrf_token(signed_in, user):
    assert signed_in.post("/account/profile/", {"name": "X"}).status_code == 403
    assert User.objects.get(pk=user.pk).name == "Alice"


def test_revoking_another_session_ends_it(signed_in, user, logged_in):
    other = Session.objects.exclude(pk=signed_in_sid(signed_in)).get(user=user)
    response = signed_in.submit(f"/account/sessions/{other.pk}/revoke/")
    assert response.status_code == 303
    assert logged_in.get("/auth/self/").status_code == 401
    assert signed_in.get("/account/").status_code == 200


def signed_in_sid(browser) -> str:
    from tokens.access import access_token_session_id

    return access_token_session_id(browser.cookie("access_token"))


def test_revoking_someone_elses_session_is_not_found(signed_in, make_user):
    stranger = AuthClient()
    stranger_user = make_user()
    stranger.login(stranger_user.email)
    sid = Session.objects.get(user=stranger_user).pk
    response = signed_in.submit(f"/account/sessions/{sid}/revoke/")
    assert response.status_code == 303
    assert stranger.get("/auth/self/").status_code == 200


def test_log_out_everywhere(signed_in, logged_in):
    response = signed_in.submit("/account/sessions/revoke-all/")
    assert response.status_code == 303 and response["Location"] == "/login/"
    assert response.cookies["access_token"].value == ""
    assert logged_in.get("/auth/self/").status_code == 401


def test_password_change_checks_the_current_password(signed_in, user):
    wrong = signed_in.submit(
        "/account/password/", {"current_password": "nope", "new_password": "another long one 9"}
    )
    assert wrong.status_code == 400
    assert 'aria-invalid="true"' in field_html(wrong.content.decode(), "current_password")
    ok = signed_in.submit(
        "/account/password/",
        {"current_password": DEFAULT_PASSWORD, "new_password": "another long one 9"},
    )
    assert ok.status_code == 303
    assert User.objects.get(pk=user.pk).check_password("another long one 9")


def test_an_email_change_needs_a_recent_proof(signed_in, user, clock, settings):
    stale(clock, settings)
    response = signed_in.submit(
        "/account/email/", {"new_email": "a2@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 303
    assert response["Location"] == "/account/reauth/?next=%2Faccount%2F%23email"
    assert mail.outbox == []
    page = signed_in.get(response["Location"]).content.decode()
    assert 'autocomplete="current-password"' in field_html(page, "password")
    wrong = signed_in.submit("/account/reauth/", {"password": "nope", "next": "/account/"})
    assert wrong.status_code == 400
    ok = signed_in.submit(
        "/account/reauth/", {"password": DEFAULT_PASSWORD, "next": "/account/#email"}
    )
    assert ok["Location"] == "/account/#email"
    done = signed_in.submit(
        "/account/email/", {"new_email": "a2@example.com", "password": DEFAULT_PASSWORD}
    )
    assert done.status_code == 303 and done["Location"] == "/account/"
    assert {m.to[0] for m in mail.outbox} == {"a2@example.com", user.email}


def test_reauth_never_follows_next_off_site(signed_in):
    response = signed_in.submit(
        "/account/reauth/", {"password": DEFAULT_PASSWORD, "next": "https://evil.com/"}
    )
    assert response["Location"] == "/account/"


def enrol_on_the_page(browser, clock) -> tuple[pyotp.TOTP, list[str]]:
    assert browser.submit("/account/2fa/setup/").status_code == 303
    page = browser.get("/account/2fa/setup/")
    html = page.content.decode()
    assert page["Cache-Control"] == "no-store"
    qr = re.search(r'<img class="qr" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert qr, "the QR code is an <img> of a data: URI"
    svg = base64.b64decode(qr.group(1)).decode()
    assert svg.startswith("<svg") and "<script" not in svg
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', html).group(1)
    totp = pyotp.TOTP(secret)
    confirmed = browser.submit("/account/2fa/confirm/", {"code": totp.at(clock.now())})
    assert confirmed.status_code == 200
    assert confirmed["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([^<]+)</code></li>", confirmed.content.decode())
    assert len(codes) == 10
    clock.advance(seconds=30)
    return totp, codes


def test_totp_enrolment_on_the_page(signed_in, user, clock):
    totp, _codes = enrol_on_the_page(signed_in, clock)
    assert "Turn off two-factor authentication" in signed_in.get("/account/").content.decode()
    # The next login asks for a code.
    browser = PageClient()
    assert browser.sign_in(user.email)["Location"].startswith("/login/2fa/")
    assert browser.submit("/auth/2fa/page/", {"code": totp.at(clock.now())}).status_code == 303


def test_a_wrong_enrolment_code_shows_the_same_secret_again(signed_in, clock):
    signed_in.submit("/account/2fa/setup/")
    first = signed_in.get("/account/2fa/setup/").content.decode()
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', first).group(1)
    wrong = signed_in.submit("/account/2fa/confirm/", {"code": "000000"})
    assert wrong.status_code == 400
    assert secret in wrong.content.decode()
    assert 'aria-invalid="true"' in field_html(wrong.content.decode(), "code")


def test_totp_setup_needs_a_recent_proof(signed_in, clock, settings):
    stale(clock, settings)
    response = signed_in.get("/account/2fa/setup/")
    assert response["Location"] == "/account/reauth/?next=%2Faccount%2F2fa%2Fsetup%2F"


def test_turning_2fa_off_and_the_reauth_by_code(signed_in, user, clock, settings):
    totp, codes = enrol_on_the_page(signed_in, clock)
    stale(clock, settings)
    refused = signed_in.submit(
        "/account/2fa/disable/", {"password": DEFAULT_PASSWORD, "code": totp.at(clock.now())}
    )
    assert refused["Location"].startswith("/account/reauth/")
    page = signed_in.get("/account/reauth/").content.decode()
    assert 'autocomplete="one-time-code"' in field_html(page, "code")
    assert signed_in.submit("/account/reauth/", {"code": totp.at(clock.now())}).status_code == 303
    clock.advance(seconds=30)
    off = signed_in.submit(
        "/account/2fa/disable/", {"password": DEFAULT_PASSWORD, "code": codes[0]}
    )
    assert off.status_code == 303
    assert not user.totpdevice_set.exists()


def test_a_page_whose_session_was_revoked_is_signed_out(signed_in, user):
    from sessions_store.services import user_sessions_revoke

    user_sessions_revoke(user_id=user.pk, reason="test")
    response = signed_in.get("/account/")
    assert response["Location"] == "/auth/resume/?next=%2Faccount%2F"
    assert signed_in.get(response["Location"])["Location"] == "/login/?next=%2Faccount%2F"


def test_the_email_resend_is_limited_per_user(signed_in, settings):
    settings.AUTHSVC_RATE_LIMITS = {
        **settings.AUTHSVC_RATE_LIMITS,
        "email_verify_resend_user": "1/h",
    }
    signed_in.submit("/account/email/resend/")
    signed_in.submit("/account/email/resend/")
    assert len(mail.outbox) == 1
    assert "Too many attempts" in signed_in.get("/account/").content.decode()


def test_google_link_and_unlink_from_the_account_page(signed_in, user, google, clock, settings):
    from social_django.models import UserSocialAuth

    page = signed_in.get("/account/").content.decode()
    assert 'action="/account/google/link/"' in page
    assert 'href="/auth/google/"' in PageClient().get("/login/").content.decode()
    response = signed_in.submit("/account/google/link/")
    assert response.status_code == 303
    consent = urlparse(response["Location"])
    assert consent.netloc == "accounts.google.com"
    google.answers(sub="g-77", email="alice.personal@gmail.com")
    back = signed_in.get(
        "/auth/google/callback/", {"state": parse_qs(consent.query)["state"][0], "code": "c"}
    )
    assert "linked=google" in back["Location"]
    assert UserSocialAuth.objects.get(uid="g-77").user == user
    assert "alice.personal@gmail.com" in signed_in.get("/account/").content.decode()
    # Unlinking needs a recent proof, like linking.
    stale(clock, settings)
    assert signed_in.submit("/account/google/unlink/")["Location"].startswith("/account/reauth/")
    signed_in.submit("/account/reauth/", {"password": DEFAULT_PASSWORD})
    assert signed_in.submit("/account/google/unlink/").status_code == 303
    assert not UserSocialAuth.objects.exists()


def test_no_google_button_without_google(browser):
    assert "/auth/google/" not in browser.get("/login/").content.decode()


def test_a_google_only_account_confirms_with_google(make_user):
    from authsvc.http import ClientInfo
    from tokens.services import session_start

    user = make_user(password=None)
    issued = session_start(
        user=user, client=ClientInfo(ip="127.0.0.1", user_agent=""), amr=["google"]
    )
    browser = PageClient()
    browser.cookies["access_token"] = issued.access_token
    html = browser.get("/account/reauth/").content.decode()
    assert 'href="/auth/google/"' in html and 'name="password"' not in html


def test_new_backup_codes_replace_the_old_ones(signed_in, user, clock):
    totp, codes = enrol_on_the_page(signed_in, clock)
    html = signed_in.get("/account/").content.decode()
    assert 'autocomplete="one-time-code"' in field_html(html, "backup-code")
    response = signed_in.submit("/account/2fa/backup-codes/", {"backup-code": totp.at(clock.now())})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    new = re.findall(r"<li><code>([^<]+)</code></li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(codes)
    browser = PageClient()
    browser.sign_in(user.email)
    assert browser.submit("/auth/2fa/page/", {"code": codes[0]}).status_code == 400
    assert browser.submit("/auth/2fa/page/", {"code": new[0]}).status_code == 303
