"""The pages in Chromium against a real gunicorn: a person's whole journey, and one without
JavaScript. The mails come from the server's console backend (`make run`'s), read from its
log, as a person would open them from their inbox."""

import re
import time

import pyotp
import pytest
from django.conf import settings
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By

from tests.browser import chromium, wait_until
from tests.conftest import DEFAULT_PASSWORD
from tests.live import Browser, LiveServer, database_url
from tokens.keys.files import write_new_key

pytestmark = pytest.mark.django_db(transaction=True)
NEW_PASSWORD = "a fresh and long passphrase 81"


@pytest.fixture
def server(tmp_path):
    """A live server whose emails link to its own pages."""
    write_new_key(tmp_path / "keys", "RS256")
    live = LiveServer(
        host="localhost",
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        keys_dir=str(tmp_path / "keys"),
        log=tmp_path / "gunicorn.log",
        DJANGO_ALLOWED_HOSTS="localhost",
        DJANGO_DEBUG="1",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        AUTHSVC_MAIL_SEND_ON_COMMIT="1",
    )
    live.env["AUTHSVC_FRONTEND_URL"] = live.base
    with live:
        yield live


def mailed_link(server, path: str, *, after: int = 0) -> str:
    """The newest link to `path` the server has mailed (printed), among the links after the
    first `after` ones."""

    def find():
        links = re.findall(
            rf"{re.escape(server.base)}{re.escape(path)}\?[^\s\"<>]+", server.log.read_text()
        )
        return links[after:] and links[-1]

    return wait_until(find, what=f"a mail with a link to {path}").replace("&amp;", "&")


def links_so_far(server, path: str) -> int:
    return len(re.findall(rf"{re.escape(server.base)}{re.escape(path)}\?", server.log.read_text()))


def fill(driver, **fields):
    for name, value in fields.items():
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def submit(driver, form_action: str):
    driver.find_element(
        By.CSS_SELECTOR, f"form[action='{form_action}'] button[type='submit']"
    ).click()


def at(driver, path: str):
    return wait_until(lambda: driver.current_url.split("?")[0].endswith(path), what=path)


def text(driver) -> str:
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except (NoSuchElementException, StaleElementReferenceException):
        return ""  # the next page is loading
    except WebDriverException as exc:
        # The body found, then replaced by the next page before its text was read.
        if "does not belong to the document" in str(exc):
            return ""
        raise


def sign_in(driver, server, email, password):
    driver.get(f"{server.base}/login/")
    fill(driver, email=email, password=password)
    submit(driver, "/login/")


def sign_out(driver, server):
    driver.get(f"{server.base}/logout/")
    submit(driver, "/logout/")
    at(driver, "/login/")


def test_a_persons_journey(server):
    email = "journey@example.com"
    with chromium() as driver:
        # Register.
        driver.get(f"{server.base}/")
        at(driver, "/login/")
        driver.find_element(By.LINK_TEXT, "Create an account").click()
        at(driver, "/register/")
        fill(driver, name="Jo", email=email, password=DEFAULT_PASSWORD)
        submit(driver, "/register/")
        at(driver, "/account/")
        assert "not verified" in text(driver)

        # Verify the email from the mail's link.
        driver.get(mailed_link(server, "/email/verify/"))
        submit(driver, "/email/verify/")
        wait_until(
            lambda: "Your email address is verified." in text(driver), what="the verified notice"
        )
        driver.get(f"{server.base}/account/")
        assert "not verified" not in text(driver)

        # Log out, log in.
        sign_out(driver, server)
        sign_in(driver, server, email, DEFAULT_PASSWORD)
        at(driver, "/account/")

        # Enrol TOTP: the QR code is an image, the key is on the page.
        driver.find_element(By.LINK_TEXT, "Set up an authenticator app").click()
        at(driver, "/account/2fa/setup/")
        submit(driver, "/account/2fa/setup/")
        qr = wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "img.qr"), what="QR")[0]
        assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
        assert driver.execute_script("return arguments[0].naturalWidth", qr) > 0
        totp = pyotp.TOTP(driver.find_element(By.ID, "totp-secret").text)
        fill(driver, code=totp.now())
        submit(driver, "/account/2fa/confirm/")
        codes = [
            element.text
            for element in wait_until(
                lambda: driver.find_elements(By.CSS_SELECTOR, ".codes code"), what="codes"
            )
        ]
        assert len(codes) == 10

        # Log out, log in with a code (the next step's: each code works once).
        sign_out(driver, server)
        sign_in(driver, server, email, DEFAULT_PASSWORD)
        at(driver, "/login/2fa/")
        fill(driver, code=totp.at(time.time() + 30))
        submit(driver, "/auth/2fa/page/")
        at(driver, "/account/")

        # Another session (the API, with a backup code); revoke it from the page.
        other = Browser()
        status, body = other.call(
            server.base, "POST", "/auth/login/", {"email": email, "password": DEFAULT_PASSWORD}
        )
        assert body.get("mfa_required"), body
        status, _ = other.call(server.base, "POST", "/auth/2fa/verify/", {"code": codes[0]})
        assert status == 200
        assert other.call(server.base, "GET", "/auth/self/")[0] == 200
        driver.get(f"{server.base}/account/")
        assert len(driver.find_elements(By.CSS_SELECTOR, ".sessions li")) == 2
        other_row = next(
            row
            for row in driver.find_elements(By.CSS_SELECTOR, ".sessions li")
            if "this browser" not in row.text
        )
        other_row.find_element(By.CSS_SELECTOR, "button").click()
        wait_until(lambda: "The session is signed out." in text(driver), what="the notice")
        assert len(driver.find_elements(By.CSS_SELECTOR, ".sessions li")) == 1
        assert other.call(server.base, "GET", "/auth/self/")[0] == 401

        # Forgotten password: reset it from the mail's link.
        sign_out(driver, server)
        driver.find_element(By.LINK_TEXT, "Forgot your password?").click()
        fill(driver, email=email)
        submit(driver, "/password/reset/")
        wait_until(lambda: "Check your inbox" in text(driver), what="the sent page")
        driver.get(mailed_link(server, "/password/reset/confirm/"))
        fill(driver, new_password=NEW_PASSWORD)
        submit(driver, "/password/reset/confirm/")
        at(driver, "/login/")
        assert "Your password is changed" in text(driver)
        sign_in(driver, server, email, NEW_PASSWORD)
        at(driver, "/login/2fa/")
        fill(driver, code=codes[1])
        submit(driver, "/auth/2fa/page/")
        at(driver, "/account/")


def test_without_javascript(server):
    email = "nojs@example.com"
    with chromium(javascript=False) as driver:
        driver.get(f"{server.base}/register/")
        fill(driver, email=email, password=DEFAULT_PASSWORD)
        submit(driver, "/register/")
        at(driver, "/account/")
        fill(driver, name="No Script")
        submit(driver, "/account/profile/")
        wait_until(lambda: "Your name is saved." in text(driver), what="the notice")
        # A wrong password is reported next to the field, and the switcher works.
        sign_out(driver, server)
        sign_in(driver, server, email, "not the password")
        wait_until(lambda: "The email or password is incorrect." in text(driver), what="the error")
        password = driver.find_element(By.NAME, "password")
        assert password.get_attribute("autocomplete") == "current-password"
        select = driver.find_element(By.ID, "language")
        select.find_element(By.CSS_SELECTOR, "option[value='fr']").click()
        submit(driver, "/i18n/setlang/")
        wait_until(lambda: "Se connecter" in text(driver), what="the French page")
        sign_in(driver, server, email, DEFAULT_PASSWORD)
        at(driver, "/account/")
        wait_until(lambda: "Votre compte" in text(driver), what="the French account page")
        sign_out(driver, server)


def test_an_expired_access_cookie_is_renewed_by_the_refresh_hop(server):
    with chromium() as driver:
        driver.get(f"{server.base}/register/")
        fill(driver, email="hop@example.com", password=DEFAULT_PASSWORD)
        submit(driver, "/register/")
        at(driver, "/account/")
        # The browser drops the access cookie at its max-age; the refresh cookie remains.
        driver.delete_cookie("access_token")
        driver.get(f"{server.base}/account/")
        at(driver, "/account/")
        assert "hop@example.com" in text(driver)
        assert driver.get_cookie("access_token")


def mailed_code(server, *, after: int = 0) -> str:
    """The newest sign-in code the server has mailed (printed), among those after the first
    `after` ones."""

    def find():
        codes = re.findall(r"^ {4}(\d{3}) (\d{3})\s*$", server.log.read_text(), re.MULTILINE)
        return codes[after:] and "".join(codes[-1])

    return wait_until(find, what="a mail with a sign-in code")


def test_signing_in_with_an_emailed_code_without_javascript(server):
    email = "bycode@example.com"
    with chromium(javascript=False) as driver:
        driver.get(f"{server.base}/register/")
        fill(driver, email=email, password=DEFAULT_PASSWORD)
        submit(driver, "/register/")
        at(driver, "/account/")
        sign_out(driver, server)

        driver.find_element(By.LINK_TEXT, "Email me a sign-in code").click()
        at(driver, "/login/code/")
        fill(driver, email=email)
        submit(driver, "/login/code/")
        wait_until(lambda: "Enter your sign-in code" in text(driver), what="the code page")
        code = mailed_code(server)
        assert driver.find_element(By.NAME, "code").get_attribute("autocomplete") == (
            "one-time-code"
        )
        fill(driver, code=f"{code[:3]} {code[3:]}")
        submit(driver, "/login/code/confirm/")
        at(driver, "/account/")
        assert email in text(driver)
        # The address is proven by the code.
        assert "not verified" not in text(driver)
