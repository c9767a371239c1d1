"""Where the emails' links land: /password/reset/, /password/reset/confirm/, /email/verify/
and /email/change/confirm/. A GET shows a form; the POST uses the link."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail

from accounts.models import User
from audit.models import AuthEvent
from tests.conftest import DEFAULT_PASSWORD, AuthClient
from tests.pages.conftest import PageClient, field_html

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a brand new passphrase 42"


def link_in(message) -> tuple[str, dict]:
    url = re.search(r"https?://\S+", message.body).group(0)
    parsed = urlparse(url)
    return parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()}


def test_reset_request_answers_the_same_for_every_address(browser, user):
    page = browser.get("/password/reset/").content.decode()
    assert 'autocomplete="username"' in field_html(page, "email")
    known = browser.submit("/password/reset/", {"email": user.email})
    unknown = browser.submit("/password/reset/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "Check your inbox" in known.content.decode()
    assert "Check your inbox" in unknown.content.decode()
    assert [m.to for m in mail.outbox] == [[user.email]]


def test_reset_request_is_limited_per_address_like_the_api(browser, user, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "password_reset_email": "1/h"}
    assert browser.submit("/password/reset/", {"email": user.email}).status_code == 200
    response = browser.submit("/password/reset/", {"email": user.email})
    assert response.status_code == 429
    assert AuthClient().post_json("/auth/password/reset/", {"email": user.email}).status_code == 429


def test_the_reset_link_opens_the_page_and_sets_the_password(
    browser, user, logged_in, django_capture_on_commit_callbacks
):
    browser.submit("/password/reset/", {"email": user.email})
    path, params = link_in(mail.outbox[0])
    assert path == "/password/reset/confirm/"
    page = browser.get(path, params)
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert 'autocomplete="new-password"' in field_html(html, "new_password")
    assert 'name="token"' in html and 'name="uid"' in html
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.submit(path, {**params, "new_password": NEW_PASSWORD})
    assert response.status_code == 303 and response["Location"] == "/login/"
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    # Every session ended, the API's among them.
    assert logged_in.get("/auth/self/").status_code == 401
    assert AuthEvent.objects.filter(type="password_reset", user_id=user.pk).exists()
    # Works once.
    again = browser.submit(path, {**params, "new_password": "yet another passphrase 7"})
    assert again.status_code == 400
    assert "invalid, has expired or was already used" in again.content.decode()


def test_a_weak_new_password_is_refused_next_to_the_field(browser, user):
    browser.submit("/password/reset/", {"email": user.email})
    path, params = link_in(mail.outbox[0])
    response = browser.submit(path, {**params, "new_password": "password"})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in field_html(response.content.decode(), "new_password")


def test_a_reset_page_without_its_values_says_the_link_is_broken(browser):
    response = browser.get("/password/reset/confirm/")
    assert "This link does not work" in response.content.decode()


def test_the_verification_link_verifies_on_the_button_not_on_the_get(browser):
    browser.submit("/register/", {"email": "v@example.com", "password": DEFAULT_PASSWORD})
    path, params = link_in(mail.outbox[0])
    assert path == "/email/verify/"
    fresh = PageClient()
    page = fresh.get(path, params)
    assert page.status_code == 200
    assert not User.objects.get(email="v@example.com").email_verified
    response = fresh.submit(path, params)
    assert response.status_code == 200
    assert "Your email address is verified." in response.content.decode()
    assert User.objects.get(email="v@example.com").email_verified


def test_a_forged_verification_key(browser):
    response = browser.submit("/email/verify/", {"key": "nonsense"})
    assert response.status_code == 400
    assert "invalid, has expired or was already used" in response.content.decode()


def test_the_email_change_link_confirms_the_change(signed_in, user):
    signed_in.submit(
        "/account/email/", {"new_email": "alice.new@example.com", "password": DEFAULT_PASSWORD}
    )
    confirm = next(m for m in mail.outbox if m.to == ["alice.new@example.com"])
    path, params = link_in(confirm)
    assert path == "/email/change/confirm/"
    other = PageClient()
    assert other.get(path, params).status_code == 200
    response = other.submit(path, params)
    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).email == "alice.new@example.com"
