"""Passkeys on the pages: what /login/, /login/2fa/ and /account/ offer, and the account
page's rename and delete forms (which work without JavaScript; adding a passkey and signing
in with one run in tests/pages/test_passkeys_browser.py)."""

import pytest

from accounts.models import Passkey
from audit.models import AuthEvent
from tests.accounts.webauthn_helpers import SoftAuthenticator, register_passkey
from tests.conftest import AuthClient

pytestmark = pytest.mark.django_db

SCRIPT = '<script type="module" src="/static/pages/passkeys.js"></script>'


@pytest.fixture
def passkey(user, request):
    """`user`'s passkey, registered from the test's signed-in page session when it has one
    (a first passkey ends the user's other sessions)."""
    api = AuthClient()
    if "signed_in" in request.fixturenames:
        api.cookies = request.getfixturevalue("signed_in").cookies
    else:
        assert api.login(user.email).status_code == 200
    return register_passkey(api, SoftAuthenticator(), name="Laptop")


def test_the_login_page_offers_a_passkey_once_the_script_runs(browser):
    html = browser.get("/login/?next=/account/").content.decode()

    assert SCRIPT in html
    assert '<div class="passkey" data-passkey-login data-next="/account/" hidden' in html
    assert "Sign in with a passkey" in html


def test_a_password_login_of_a_passkey_account_goes_to_the_passkey_step(browser, user, passkey):
    response = browser.sign_in(user.email)

    assert response.status_code == 303
    assert response["Location"] == "/login/2fa/?methods=passkey&next=%2Faccount%2F"
    page = browser.get(response["Location"]).content.decode()
    assert "data-passkey-2fa" in page and "Use a passkey" in page
    # No code form for an account without an authenticator app.
    assert 'name="code"' not in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_without_a_hint_the_second_step_offers_both(browser):
    page = browser.get("/login/2fa/").content.decode()

    assert 'name="code"' in page and "data-passkey-2fa" in page


def test_the_account_page_lists_the_passkeys(signed_in, passkey):
    html = signed_in.get("/account/").content.decode()

    assert SCRIPT in html
    assert 'id="passkeys"' in html
    assert "Laptop" in html and "this device only" in html and "never used" in html
    assert f'action="/account/passkeys/{passkey["id"]}/rename/"' in html
    assert f'action="/account/passkeys/{passkey["id"]}/delete/"' in html
    assert "data-passkey-register" in html


def test_the_account_page_in_french(signed_in, passkey):
    signed_in.cookies["django_language"] = "fr"

    html = signed_in.get("/account/").content.decode()

    assert "Clés d'accès" in html and "Ajouter une clé d'accès" in html


def test_rename_from_the_account_page(signed_in, passkey):
    response = signed_in.submit(f"/account/passkeys/{passkey['id']}/rename/", {"name": "Phone"})

    assert response.status_code == 303 and response["Location"] == "/account/#passkeys"
    assert Passkey.objects.get().name == "Phone"
    assert "The passkey is renamed." in signed_in.get("/account/").content.decode()


def test_a_blank_name_is_refused_with_a_message(signed_in, passkey):
    signed_in.submit(f"/account/passkeys/{passkey['id']}/rename/", {"name": "  "})

    assert Passkey.objects.get().name == "Laptop"
    assert "Enter a name." in signed_in.get("/account/").content.decode()


def test_delete_from_the_account_page(signed_in, passkey, user):
    response = signed_in.submit(f"/account/passkeys/{passkey['id']}/delete/")

    assert response.status_code == 303
    assert not Passkey.objects.exists()
    assert AuthEvent.objects.filter(type="passkey_deleted", user_id=user.pk).exists()


def test_delete_asks_for_a_fresh_proof_first(signed_in, passkey, clock):
    clock.advance(seconds=301)

    response = signed_in.submit(f"/account/passkeys/{passkey['id']}/delete/")

    assert response.status_code == 303
    assert response["Location"].startswith("/account/reauth/?next=")
    assert Passkey.objects.count() == 1


def test_another_users_passkey_is_not_touched(browser, make_user, passkey):
    other = make_user()
    browser.sign_in(other.email)

    browser.submit(f"/account/passkeys/{passkey['id']}/rename/", {"name": "Mine"})
    browser.submit(f"/account/passkeys/{passkey['id']}/delete/")

    assert Passkey.objects.get().name == "Laptop"


def test_step_up_of_a_passkey_account_asks_for_the_passkey(signed_in, passkey, clock):
    clock.advance(seconds=301)
    to_reauth = signed_in.submit(f"/account/passkeys/{passkey['id']}/delete/")

    page = signed_in.get(to_reauth["Location"]).content.decode()

    assert "data-passkey-reauth" in page and SCRIPT in page
    assert 'name="password"' not in page
    # A password posted anyway is refused, as by the API.
    response = signed_in.submit("/account/reauth/", {"password": "a password", "next": "/account/"})
    assert response.status_code == 400
    assert Passkey.objects.count() == 1


def test_step_up_without_a_passkey_loads_no_script(signed_in):
    page = signed_in.get("/account/reauth/").content.decode()

    assert "<script" not in page and 'name="password"' in page
