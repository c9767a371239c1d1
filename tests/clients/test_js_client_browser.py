"""The JavaScript client (clients/js/) in Debian's headless Chromium, from a page on another
origin than the API: a front end on http://localhost:<port> calling authsvc (gunicorn, as
`make run` configures it, with AUTHSVC_CORS_ALLOWED_ORIGINS naming the page) on another
port. Register, self, an expired access token refreshed behind the app's back, two tabs
hitting the expiry at once (one refresh between them, never two rotations of one token),
logout seen by the other tab; the cross-site deployment; the README's login form. The
client's unit tests run with Node's test runner (`make test` runs `node --test` in
clients/js/).

The expired token is real: the test signs one with the server's own key (the keys folder
is the test's), for the live session, with `exp` in the past, and plants it in the cookie
jar through the DevTools protocol.
"""

import shutil
import time
from pathlib import Path

import jwt
import pytest
from django.conf import settings
from selenium.webdriver.common.by import By

from accounts.models import User
from sessions_store.models import Session
from tests.accounts.mfa_helpers import authenticator_for
from tests.browser import StaticSite, chromium, wait_until
from tests.conftest import DEFAULT_PASSWORD
from tests.live import LiveServer, database_url
from tokens.keys.files import load_key, write_new_key
from tokens.models import RefreshToken

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "js" / "src" / "index.js"

# The app: the client, built once per page with the API's origin from the query string;
# every fetch it makes is counted, and every `sessionend` event kept, for the test to read.
APP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A front end</title></head>
<body>
<script type="module">
import { AuthClient } from "./client/index.js";
const api = new URLSearchParams(location.search).get("api");
window.refreshCalls = 0;
window.sessionEnds = [];
window.auth = new AuthClient({
  baseUrl: api,
  fetch: (input, init) => {
    if (String(input).includes("/auth/refresh/")) window.refreshCalls += 1;
    return fetch(input, init);
  },
  onSessionEnd: (detail) => window.sessionEnds.push(detail),
});
// Tabs start a call at the same moment when a message on this channel says so.
new BroadcastChannel("test-go").onmessage = () => window.startSelf();
window.startSelf = () => {
  window.selfResult = undefined;
  window.auth.self().then(
    (profile) => { window.selfResult = { ok: profile }; },
    (error) => { window.selfResult = { error: { status: error.status, code: error.code } }; },
  );
};
window.ready = true;
</script>
</body></html>
"""

CALL = """
const done = arguments[arguments.length - 1];
const run = new Function("auth", "return (async () => { " + arguments[0] + " })()");
run(window.auth).then(
  (value) => done({ ok: value === undefined ? null : value }),
  (error) => done({ error: { name: error.name, status: error.status, code: error.code,
                             message: String(error.message) } }),
);
"""


def call(driver, body: str):
    """Run `body` (JavaScript using `auth`) in the page; its value, or AssertionError."""
    outcome = driver.execute_async_script(CALL, body)
    if "error" in outcome:
        raise AssertionError(f"{body} failed: {outcome['error']}")
    return outcome["ok"]


def call_error(driver, body: str) -> dict:
    outcome = driver.execute_async_script(CALL, body)
    assert "error" in outcome, f"{body} succeeded: {outcome}"
    return outcome["error"]


@pytest.fixture
def keys_dir(tmp_path) -> Path:
    directory = tmp_path / "keys"
    write_new_key(directory, "RS256")
    return directory


def app_on(tmp_path, host: str) -> StaticSite:
    """The app (the page and the client) served from `host` on a port of its own."""
    root = tmp_path / f"app-{host}"
    (root / "client").mkdir(parents=True)
    shutil.copy(CLIENT, root / "client" / "index.js")
    (root / "index.html").write_text(APP_PAGE)
    return StaticSite(root, host=host)


def api_for(tmp_path, keys_dir, app: StaticSite, **env) -> LiveServer:
    """authsvc as `make run` configures it beside a front end's development server: debug
    (plain HTTP, so no Secure cookies by default and an http:// origin allowed), CORS for
    the app's origin; `env` adds to it."""
    return LiveServer(
        host="localhost",
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        keys_dir=str(keys_dir),
        log=tmp_path / "gunicorn.log",
        DJANGO_DEBUG="1",
        DJANGO_ALLOWED_HOSTS="localhost",
        AUTHSVC_CORS_ALLOWED_ORIGINS=app.origin,
        AUTHSVC_RATE_LIMITS_ENABLED="0",
        **env,
    )


@pytest.fixture
def app_site(tmp_path):
    with app_on(tmp_path, "localhost") as site:
        yield site


@pytest.fixture
def server(tmp_path, keys_dir, app_site):
    with api_for(tmp_path, keys_dir, app_site) as live:
        yield live


def open_app(driver, site: StaticSite, server: LiveServer) -> None:
    driver.get(f"{site.origin}/index.html?api={server.base}")
    wait_until(lambda: driver.execute_script("return window.ready === true"), what="the app")


def expire_access_token(driver, server: LiveServer, keys_dir: Path) -> None:
    """Replace the access cookie with the same token re-signed by the server's key with
    `exp` in the past: a token the server itself would have issued, expired."""
    (cookie,) = [
        c
        for c in driver.execute_cdp_cmd("Network.getCookies", {"urls": [server.base + "/"]})[
            "cookies"
        ]
        if c["name"] == "access_token"
    ]
    claims = jwt.decode(cookie["value"], options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 1200, exp=now - 300)
    (key_file,) = keys_dir.glob("key-*.pem")
    key = load_key(key_file)
    expired = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
    driver.execute_cdp_cmd(
        "Network.setCookie",
        {
            "name": "access_token",
            "value": expired,
            "url": server.base + "/",
            "path": "/",
            "httpOnly": True,
            "sameSite": "Lax",
        },
    )


def refreshes(user: User) -> int:
    """Rotations the server made: the refresh tokens of the user's sessions used up."""
    return RefreshToken.objects.filter(session__user=user, used_at__isnull=False).count()


def test_register_refresh_two_tabs_and_logout_from_another_origin(server, app_site, keys_dir):
    email = "js-client@example.com"
    with chromium() as driver:
        open_app(driver, app_site, server)
        registered = call(
            driver,
            f"return await auth.register({{email: {email!r}, password: {DEFAULT_PASSWORD!r},"
            " name: 'Ada'});",
        )
        user = User.objects.get(email=email)
        assert registered["id"] == str(user.pk)
        profile = call(driver, "return await auth.self();")
        assert (profile["email"], profile["name"]) == (email, "Ada")

        # The access token expires: the next call refreshes once, then succeeds.
        expire_access_token(driver, server, keys_dir)
        profile = call(driver, "return await auth.updateSelf({name: 'Ada Lovelace'});")
        assert profile["name"] == "Ada Lovelace"
        assert driver.execute_script("return window.refreshCalls") == 1
        assert refreshes(user) == 1

        # Two tabs of the app hit the expiry at the same moment.
        first = driver.current_window_handle
        driver.switch_to.new_window("tab")
        second = driver.current_window_handle
        open_app(driver, app_site, server)
        expire_access_token(driver, server, keys_dir)
        driver.switch_to.window(first)
        # This tab posts "go" (heard by the other) and starts its own call at once.
        driver.execute_script("new BroadcastChannel('test-go').postMessage(1); startSelf();")
        results = {}
        for handle in (first, second):
            driver.switch_to.window(handle)
            results[handle] = wait_until(
                lambda: driver.execute_script("return window.selfResult"),
                what="both tabs' calls",
            )
        assert all("ok" in result for result in results.values()), results
        calls = 0
        for handle in (first, second):
            driver.switch_to.window(handle)
            calls += driver.execute_script("return window.refreshCalls")
        # One rotation between the two tabs (the first tab's count includes its earlier one).
        assert calls == 2
        assert refreshes(user) == 2
        session = Session.objects.get(user=user)
        assert session.revoked_at is None

        # Logout in the first tab: the session ends on the server, and the second tab hears.
        driver.switch_to.window(first)
        call(driver, "await auth.logout();")
        session.refresh_from_db()
        assert session.revoked_at is not None
        driver.switch_to.window(second)
        wait_until(
            lambda: driver.execute_script("return window.sessionEnds.length"),
            what="the other tab to learn of the logout",
        )
        error = call_error(driver, "return await auth.self();")
        assert (error["name"], error["status"]) == ("AuthError", 401)
        assert refreshes(user) == 2  # the refresh it tried was refused


def test_login_with_a_second_factor_from_another_origin(server, app_site):
    user = User.objects.create_user(email="mfa-js@example.com", password=DEFAULT_PASSWORD)
    authenticator = authenticator_for(user)
    with chromium() as driver:
        open_app(driver, app_site, server)
        wrong = call_error(
            driver,
            f"return await auth.login({{email: {user.email!r}, password: 'not it at all'}});",
        )
        assert (wrong["status"], wrong["code"]) == (401, "invalid_credentials")

        step = call(
            driver,
            f"return await auth.login({{email: {user.email!r}, password: {DEFAULT_PASSWORD!r}}});",
        )
        assert step["status"] == "mfa_required", step
        done = call(driver, f"return await auth.verifyMfa({{code: {authenticator.now()!r}}});")
        assert done == {"status": "ok", "id": str(user.pk)}
        assert call(driver, "return (await auth.self()).email;") == user.email


@pytest.fixture
def cross_site_app(tmp_path):
    """The app on another *site*: 127.0.0.1 and localhost are different sites to a browser."""
    with app_on(tmp_path, "127.0.0.1") as site:
        yield site


@pytest.mark.parametrize(
    ("cross_site_cookies", "third_party_cookies", "works"),
    [
        (True, True, True),  # SameSite=None, in a browser that allows third-party cookies
        (True, False, False),  # the same, where they are blocked (Safari, Firefox strict...)
        (False, True, False),  # the default Lax/Strict cookies never travel cross-site
    ],
)
def test_a_cross_site_front_end_works_only_with_samesite_none_and_third_party_cookies(
    tmp_path, keys_dir, cross_site_app, cross_site_cookies, third_party_cookies, works
):
    """The deployment table's third row (docs/frontends.md), and why it is not
    recommended: the cookies of a cross-site API are third-party cookies."""
    with (
        api_for(
            tmp_path,
            keys_dir,
            cross_site_app,
            # SameSite=None needs Secure; Chromium takes Secure cookies from http://localhost.
            AUTHSVC_COOKIE_SECURE="1",
            AUTHSVC_COOKIE_CROSS_SITE="1" if cross_site_cookies else "0",
        ) as server,
        chromium(third_party_cookies=third_party_cookies) as driver,
    ):
        open_app(driver, cross_site_app, server)
        register = (
            "return await auth.register({email: 'far@example.com', "
            f"password: {DEFAULT_PASSWORD!r}}});"
        )
        if works:
            call(driver, register)
            assert call(driver, "return (await auth.self()).email;") == "far@example.com"
        else:
            # The CSRF cookie is not kept or not sent, so even the first write fails.
            error = call_error(driver, register)
            assert (error["status"], error["code"]) == (403, "csrf_failed")


def readme_login_form() -> str:
    """The login form of the README's "For front-end developers", as written there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## For front-end developers", 1)[1].split("\n## ", 1)[0]
    return section.split("```html\n", 1)[1].split("```", 1)[0]


def test_the_readme_login_form_works_from_another_origin(server, app_site):
    """A front-end developer's first page, copied from the README: only the import (the
    npm package name, resolved by a bundler) and authsvc's address are put in by hand."""
    user = User.objects.create_user(email="readme@example.com", password=DEFAULT_PASSWORD)
    authenticator = authenticator_for(user)
    page = readme_login_form()
    assert '"@authsvc/client"' in page and '"http://localhost:8000"' in page
    page = page.replace('"@authsvc/client"', '"./client/index.js"').replace(
        '"http://localhost:8000"', f'"{server.base}"'
    )
    (app_site.root / "readme.html").write_text(f"<!doctype html><meta charset=utf-8>{page}")

    with chromium() as driver:
        driver.get(f"{app_site.origin}/readme.html")
        form = driver.find_element(By.ID, "login")
        output = form.find_element(By.TAG_NAME, "output")

        form.find_element(By.NAME, "email").send_keys(user.email)
        form.find_element(By.NAME, "password").send_keys("a wrong password, surely")
        form.find_element(By.TAG_NAME, "button").click()
        wait_until(lambda: "password" in output.text.lower(), what="the error")

        password = form.find_element(By.NAME, "password")
        password.clear()
        password.send_keys(DEFAULT_PASSWORD)
        form.find_element(By.TAG_NAME, "button").click()
        code = form.find_element(By.NAME, "code")
        wait_until(code.is_displayed, what="the code field")
        code.send_keys(authenticator.now())
        form.find_element(By.TAG_NAME, "button").click()
        wait_until(lambda: output.text == f"Signed in as {user.email}", what="the sign-in")
