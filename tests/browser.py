"""Browser tests: Debian's Chromium, headless, driven by Selenium through Debian's
chromedriver (scripts/test-tools.sh installs both), and a static site on its own origin for
the pages that play a front end.

Missing Chromium skips the test with the reason, except in CI, where a missing install step
must not pass.
"""

import contextlib
import functools
import http.server
import threading
import time
from pathlib import Path

from tests.faults import free_port
from tests.tools import require


def _binaries() -> tuple[str, str]:
    return require("chromium", "apt-get install chromium"), require(
        "chromedriver", "apt-get install chromium-driver"
    )


@contextlib.contextmanager
def chromium(*, javascript: bool = True, third_party_cookies: bool | None = None):
    """A fresh headless Chromium profile (its own cookie jar), closed afterwards.

    `third_party_cookies`: allow or block them (the user's setting); None leaves Chromium's
    default, which blocks them in this headless profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--window-size=1280,900",
        # A background tab must keep running its timers and fetches while the test drives
        # another one (the two-tab refresh race).
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
    ):
        options.add_argument(argument)
    prefs = {}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    if third_party_cookies is not None:
        # 0: allow every cookie; 1: block third-party cookies.
        prefs["profile.cookie_controls_mode"] = 0 if third_party_cookies else 1
        prefs["profile.block_third_party_cookies"] = not third_party_cookies
    if prefs:
        options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_until(predicate, *, timeout: float = 15, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; its value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
    }

    def log_message(self, format, *args):
        pass


class StaticSite:
    """A folder served over HTTP on its own port: a front end on another origin."""

    def __init__(self, root: Path, *, host: str = "localhost"):
        self.root = root
        self.port = free_port()
        self.origin = f"http://{host}:{self.port}"
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "StaticSite":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
