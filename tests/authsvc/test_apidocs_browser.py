"""Swagger UI's "Try it out", in Chromium against a real gunicorn: every write goes out with
the CSRF header and the browser's cookies, with no step by hand. drf-spectacular's own
script stops sending the header when credentials are "include"; ours reads the csrftoken
cookie at each request (authsvc/settings/apidocs.py)."""

import json

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By

from tests.browser import chromium, wait_until
from tests.conftest import DEFAULT_PASSWORD
from tests.live import LiveServer, database_url
from tokens.keys.files import write_new_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(tmp_path):
    write_new_key(tmp_path / "keys", "RS256")
    with LiveServer(
        host="localhost",
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        keys_dir=str(tmp_path / "keys"),
        log=tmp_path / "gunicorn.log",
        DJANGO_ALLOWED_HOSTS="localhost",
        # As `make run` serves it: static files straight from the apps (no collectstatic).
        DJANGO_DEBUG="1",
        AUTHSVC_RATE_LIMITS_ENABLED="0",
    ) as live:
        yield live


def try_it_out(driver, operation_id: str, body: dict | None = None, **params) -> tuple[int, dict]:
    """Open the operation, press "Try it out", fill its parameters and body, press
    "Execute", and read the status and body Swagger UI shows."""
    block = wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, f"[id$='-{operation_id}']"),
        what=f"the {operation_id} operation",
    )[0]
    driver.execute_script("arguments[0].scrollIntoView()", block)
    if "is-open" not in block.get_attribute("class"):
        block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait_until(lambda: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"), what="try it out")
    button = block.find_element(By.CSS_SELECTOR, ".try-out__btn")
    if "cancel" not in button.get_attribute("class"):
        button.click()
    for name, value in params.items():
        field = block.find_element(By.CSS_SELECTOR, f"tr[data-param-name='{name}'] input")
        field.clear()
        field.send_keys(value)
    if body is not None:
        textarea = wait_until(
            lambda: block.find_elements(By.CSS_SELECTOR, "textarea.body-param__text"),
            what="the body editor",
        )[0]
        textarea.clear()
        textarea.send_keys(json.dumps(body))
    block.find_element(By.CSS_SELECTOR, ".execute").click()
    status = wait_until(
        lambda: block.find_elements(
            By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"
        ),
        what=f"the {operation_id} response",
    )[0]
    code = int(status.text.split()[0])
    text = block.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .microlight").text
    # Collapse again so the next operation's selectors cannot meet this one's response.
    block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    return code, json.loads(text) if text.strip() else None


def test_try_it_out_registers_edits_and_logs_out_with_no_manual_step(server):
    with chromium() as driver:
        driver.get(f"{server.base}/api/docs/")
        wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, ".opblock"), what="the UI")

        status, body = try_it_out(
            driver,
            "register",
            {"email": "swagger@example.com", "password": DEFAULT_PASSWORD, "name": "Swag"},
        )
        assert status == 201, body
        # The cookies came back to the browser, not the page: the next calls use them.
        status, body = try_it_out(driver, "selfUpdate", {"name": "Swagger User"})
        assert (status, body["name"]) == (200, "Swagger User"), body

        status, body = try_it_out(driver, "totpSetup")
        assert status == 200, body
        assert body["otpauth_uri"].startswith("otpauth://")

        status, body = try_it_out(driver, "sessionList")
        assert status == 200, body
        current = next(s for s in body if s["current"])

        status, body = try_it_out(driver, "logoutAll")
        assert status == 200, body

        status, body = try_it_out(
            driver, "login", {"email": "swagger@example.com", "password": DEFAULT_PASSWORD}
        )
        assert status == 200, body

        # A DELETE with a path parameter: the old session is gone already, so 404 (not
        # 403 csrf_failed, which is what drf-spectacular's script gave every write).
        status, body = try_it_out(driver, "sessionRevoke", session_id=current["id"])
        assert status == 404, body

        status, body = try_it_out(driver, "logout")
        assert status == 200, body
        status, body = try_it_out(driver, "selfGet")
        assert status == 401, body
