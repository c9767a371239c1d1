"""Passkeys end to end in headless Chromium with the DevTools virtual authenticator (a
CTAP2 platform authenticator with resident keys and user verification) against a real
gunicorn on http://localhost, a secure context: register on /account/, sign in with the
passkey on /login/, a cloned authenticator (the same key with a counter set back) refused
and recorded, the passkey as the second step after a password, and delete."""

import jwt
import pytest
from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import (
    Credential,
    Protocol,
    Transport,
    VirtualAuthenticatorOptions,
)

from accounts.models import Passkey
from audit.models import AuthEvent
from tests.browser import chromium, wait_until
from tests.conftest import DEFAULT_PASSWORD
from tests.live import LiveServer, database_url
from tests.pages.test_pages_browser import at, sign_in, sign_out, submit, text
from tokens.keys.files import write_new_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(tmp_path):
    write_new_key(tmp_path / "keys", "RS256")
    live = LiveServer(
        host="localhost",
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        keys_dir=str(tmp_path / "keys"),
        log=tmp_path / "gunicorn.log",
        DJANGO_ALLOWED_HOSTS="localhost",
        DJANGO_DEBUG="1",
    )
    # The RP id and origin come from the front-end URL by default: localhost and this
    # server's origin, as the browser sees it.
    live.env["AUTHSVC_FRONTEND_URL"] = live.base
    with live:
        yield live


def authenticator(driver):
    driver.add_virtual_authenticator(
        VirtualAuthenticatorOptions(
            protocol=Protocol.CTAP2,
            transport=Transport.INTERNAL,
            has_resident_key=True,
            has_user_verification=True,
            is_user_verified=True,
            is_user_consenting=True,
        )
    )


def amr(driver) -> list[str]:
    token = driver.get_cookie("access_token")["value"]
    return jwt.decode(token, options={"verify_signature": False})["amr"]


def passkey_sign_in(driver, server):
    driver.get(f"{server.base}/login/")
    button = wait_until(
        lambda: (
            driver.find_element(By.CSS_SELECTOR, "[data-passkey-login]").is_displayed()
            and driver.find_element(By.CSS_SELECTOR, "[data-passkey-login] button")
        ),
        what="the passkey button",
    )
    button.click()


def passkey_error(driver, selector: str) -> str:
    return wait_until(
        lambda: (
            driver.find_element(By.CSS_SELECTOR, f"{selector} [data-passkey-error]").is_displayed()
            and driver.find_element(By.CSS_SELECTOR, f"{selector} [data-passkey-error]").text
        ),
        what="the passkey error",
    )


def test_register_sign_in_clone_second_factor_and_delete(server, make_user):
    user = make_user(email="passkey@example.com", name="Pat")
    with chromium() as driver:
        authenticator(driver)

        # Register a passkey on /account/, right after signing in (a recent authentication).
        sign_in(driver, server, user.email, DEFAULT_PASSWORD)
        at(driver, "/account/")
        form = wait_until(
            lambda: (
                driver.find_element(By.CSS_SELECTOR, "[data-passkey-register]").is_displayed()
                and driver.find_element(By.CSS_SELECTOR, "[data-passkey-register]")
            ),
            what="the add-a-passkey form",
        )
        assert not driver.find_element(By.CSS_SELECTOR, "[data-passkey-unsupported]").is_displayed()
        form.find_element(By.ID, "passkey-new-name").send_keys("Virtual key")
        form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
        wait_until(lambda: Passkey.objects.filter(user=user).exists(), what="the passkey row")
        wait_until(lambda: "Virtual key" in text(driver), what="the passkey in the list")
        passkey = Passkey.objects.get(user=user)
        assert passkey.name == "Virtual key"
        [credential] = driver.get_credentials()
        assert credential.is_resident_credential and credential.rp_id == "localhost"
        assert credential._id == bytes(passkey.credential_id)
        assert credential._user_handle == user.pk.bytes

        # Sign out, sign in with the passkey alone: two factors in one step.
        sign_out(driver, server)
        passkey_sign_in(driver, server)
        at(driver, "/account/")
        assert amr(driver) in (["hwk", "mfa"], ["swk", "mfa"])
        assert AuthEvent.objects.filter(type="passkey_login_succeeded", user=user).exists()
        passkey.refresh_from_db()
        assert passkey.last_used_at is not None
        stored = passkey.sign_count
        assert stored > 0

        # A clone: the same key, its counter set back. Refused, recorded, counter kept.
        [credential] = driver.get_credentials()
        driver.remove_credential(credential.id)
        driver.add_credential(
            Credential.create_resident_credential(
                id=credential._id,
                rp_id="localhost",
                user_handle=credential._user_handle,
                private_key=credential._private_key,
                sign_count=0,
            )
        )
        sign_out(driver, server)
        passkey_sign_in(driver, server)
        assert "could not be used" in passkey_error(driver, "[data-passkey-login]")
        assert driver.get_cookie("access_token") is None
        clone = wait_until(
            lambda: AuthEvent.objects.filter(type="passkey_clone_detected", user=user).first(),
            what="the clone event",
        )
        assert clone.details["stored_sign_count"] == stored
        passkey.refresh_from_db()
        assert passkey.sign_count == stored

        # The real key, whose counter went on: the password, then the passkey as the
        # second step (the account has a passkey, so a password alone is not enough).
        driver.remove_credential(credential.id)
        driver.add_credential(
            Credential.create_resident_credential(
                id=credential._id,
                rp_id="localhost",
                user_handle=credential._user_handle,
                private_key=credential._private_key,
                sign_count=stored + 10,
            )
        )
        sign_in(driver, server, user.email, DEFAULT_PASSWORD)
        at(driver, "/login/2fa/")
        assert not driver.find_elements(By.NAME, "code")  # no app: only the passkey
        second = wait_until(
            lambda: (
                driver.find_element(By.CSS_SELECTOR, "[data-passkey-2fa]").is_displayed()
                and driver.find_element(By.CSS_SELECTOR, "[data-passkey-2fa] button")
            ),
            what="the passkey step",
        )
        second.click()
        at(driver, "/account/")
        assert amr(driver)[0] == "pwd" and amr(driver)[-1] == "mfa"

        # Delete it on /account/ (the login just proved two factors: no step-up page).
        submit(driver, f"/account/passkeys/{passkey.pk}/delete/")
        wait_until(lambda: "The passkey is deleted;" in text(driver), what="the deleted notice")
        assert not Passkey.objects.filter(user=user).exists()
        assert AuthEvent.objects.filter(type="passkey_deleted", user=user).exists()

        # The authenticator still holds the key, which no longer signs anyone in.
        sign_out(driver, server)
        passkey_sign_in(driver, server)
        assert "could not be used" in passkey_error(driver, "[data-passkey-login]")
        # The password alone does again.
        sign_in(driver, server, user.email, DEFAULT_PASSWORD)
        at(driver, "/account/")
