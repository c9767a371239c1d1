"""/login/code/ and /login/code/confirm/: the API's sign-in code flow behind two forms."""

import re

import jwt
import pytest
from django.core import mail

from accounts.models import LoginCode
from tests.accounts.mfa_helpers import authenticator_for
from tests.accounts.test_login_codes import code_in, wrong
from tests.pages.conftest import field_html, label_for

pytestmark = pytest.mark.django_db


def ask(browser, email, next_url="/account/"):
    return browser.submit("/login/code/", {"email": email, "next": next_url})


def enter(browser, email, code, next_url="/account/"):
    return browser.submit("/login/code/confirm/", {"email": email, "code": code, "next": next_url})


def test_the_login_page_offers_a_code(browser):
    html = browser.get("/login/?next=/account/sessions/").content.decode()

    assert '<a href="/login/code/?next=%2Faccount%2Fsessions%2F">' in html
    assert "Email me a sign-in code" in html


def test_the_forms_are_labelled_and_fillable(browser):
    html = browser.get("/login/code/").content.decode()
    assert 'autocomplete="username"' in field_html(html, "email")
    assert label_for(html, "id_email")
    assert "<script" not in html

    html = ask(browser, "alice@example.com").content.decode()
    code = field_html(html, "code")
    assert 'autocomplete="one-time-code"' in code and 'inputmode="numeric"' in code
    assert label_for(html, "id_code")
    assert 'type="hidden" name="email" value="alice@example.com"' in html


def test_a_code_signs_in_through_the_pages(browser, user):
    response = ask(browser, user.email, next_url="/account/sessions/")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "If an account uses alice@example.com, a 6-digit code is on its way." in (
        response.content.decode()
    )
    [message] = mail.outbox

    response = enter(browser, user.email, code_in(message), next_url="/account/sessions/")

    assert response.status_code == 303
    assert response["Location"] == "/account/sessions/"
    claims = jwt.decode(browser.cookie("access_token"), options={"verify_signature": False})
    assert claims["amr"] == ["email"]
    assert browser.get("/account/").status_code == 200


def test_an_unknown_address_reads_the_same(browser, user):
    def read(email):
        html = ask(browser, email).content.decode().replace(email, "X")
        # The masked CSRF token differs on every page.
        return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", html)

    assert read(user.email) == read("nobody@example.com")
    assert len(mail.outbox) == 1


def test_a_wrong_code_is_said_on_the_field(browser, user):
    ask(browser, user.email)
    code = code_in(mail.outbox[0])

    response = enter(browser, user.email, wrong(code))

    html = response.content.decode()
    assert response.status_code == 400
    assert "The code is invalid or has already been used." in html
    assert 'aria-invalid="true"' in field_html(html, "code")
    assert "access_token" not in response.cookies
    assert LoginCode.objects.get().attempts == 1
    # The form keeps the address, so the right code can follow.
    assert enter(browser, user.email, code).status_code == 303


def test_an_account_with_2fa_goes_on_to_the_second_step(browser, user, clock):
    totp = authenticator_for(user)
    ask(browser, user.email)

    response = enter(browser, user.email, code_in(mail.outbox[0]))

    assert response.status_code == 303
    assert response["Location"] == "/login/2fa/?methods=totp%2Cbackup_code&next=%2Faccount%2F"
    assert browser.cookie("access_token") is None
    response = browser.submit(
        "/auth/2fa/page/", {"code": totp.at(clock.now()), "next": "/account/"}
    )
    assert response.status_code == 303
    claims = jwt.decode(browser.cookie("access_token"), options={"verify_signature": False})
    assert claims["amr"] == ["email", "otp"]


def test_the_pages_share_the_apis_limits(browser, user):
    for _ in range(5):
        assert ask(browser, user.email).status_code == 200

    response = ask(browser, user.email)

    assert response.status_code == 429
    assert "Too many attempts." in response.content.decode()


def test_a_post_without_the_address_starts_again(browser):
    response = browser.submit("/login/code/confirm/", {"code": "123456", "next": "/account/"})

    assert response.status_code == 303
    assert response["Location"] == "/login/code/?next=%2Faccount%2F"


def test_the_forms_need_the_csrf_token(browser, user):
    assert browser.post("/login/code/", {"email": user.email}).status_code == 403
    assert mail.outbox == []


def test_no_code_pages_when_codes_are_off(browser, settings):
    settings.AUTHSVC_LOGIN_CODES_ENABLED = False

    assert "/login/code/" not in browser.get("/login/").content.decode()
    assert browser.get("/login/code/").status_code == 404
    assert ask(browser, "alice@example.com").status_code == 404


def test_the_code_pages_and_mail_speak_french(browser, user):
    html = browser.submit(
        "/login/code/", {"email": user.email, "next": "/account/"}, HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()

    assert "Saisissez votre code de connexion" in html
    assert "Code de connexion" in html
    [message] = mail.outbox
    assert message.subject == "Votre code de connexion authsvc"
    assert "dans les 10 minutes" in message.body
    assert code_in(message)


def test_next_is_vetted_on_the_way_through(browser, user):
    html = ask(browser, user.email, next_url="https://evil.example/").content.decode()

    assert "evil.example" not in html
    response = enter(browser, user.email, code_in(mail.outbox[0]), "https://evil.example/")
    assert response.status_code == 303
    assert response["Location"] == "/account/"
