"""Screenshots of the pages for the docs (docs/img/pages-*.png): `make screenshots`.

Starts the service as `make run` does (debug, SQLite in a temporary folder, the in-process
session store, mail printed by the console backend) under gunicorn on a free port, walks
through the pages in headless Chromium (tests/browser.py) and saves one PNG per page."""

import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selenium.webdriver.common.by import By  # noqa: E402

from tests.browser import chromium, wait_until  # noqa: E402
from tests.faults import free_port  # noqa: E402

OUT = ROOT / "docs" / "img"
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway demo account


def main() -> None:
    import pyotp

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="authsvc-screens-") as tmp:
        port = free_port()
        base = f"http://localhost:{port}"
        log = Path(tmp) / "server.log"
        env = {
            "PATH": "/usr/bin:/bin",
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
            "AUTHSVC_KEYS_DIR": f"{tmp}/keys",
            "DJANGO_ALLOWED_HOSTS": "localhost",
            "AUTHSVC_FRONTEND_URL": base,
            "AUTHSVC_SERVICE_NAME": "Acme Accounts",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "AUTHSVC_LOG_FORMAT": "text",
            # Shows the Google button; the screenshots never follow it.
            "GOOGLE_OAUTH_CLIENT_ID": "example.apps.googleusercontent.com",
            "GOOGLE_OAUTH_CLIENT_SECRET": "example",
        }
        python = sys.executable
        subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [python, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with log.open("w") as out:
            server = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn
                [
                    python,
                    "-m",
                    "gunicorn",
                    "authsvc.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until(lambda: _up(base), timeout=30, what="the server")
            _walk(base, log, pyotp)
        finally:
            server.terminate()
            server.wait(timeout=10)


def _up(base: str) -> bool:
    try:
        urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310 - http://localhost
        return True
    except OSError:
        return False


def _walk(base: str, log: Path, pyotp) -> None:
    with chromium() as driver:
        driver.set_window_size(1100, 860)

        def shot(name: str, *, full: bool = False) -> None:
            time.sleep(0.2)
            width, height = driver.get_window_size().values()
            if full:  # the whole page, not only the window's height
                page = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(width, page + 140)
                time.sleep(0.2)
            driver.save_screenshot(str(OUT / f"pages-{name}.png"))
            driver.set_window_size(width, height)
            print(f"docs/img/pages-{name}.png")

        def fill(**fields):
            for field, value in fields.items():
                element = driver.find_element(By.NAME, field)
                element.clear()
                element.send_keys(value)

        def submit(action: str):
            driver.find_element(By.CSS_SELECTOR, f"form[action='{action}'] button").click()
            time.sleep(0.3)

        def mailed(path: str) -> str:
            pattern = rf"{re.escape(base)}{re.escape(path)}\?[^\s\"<>]+"
            return wait_until(lambda: re.findall(pattern, log.read_text()), what=path)[-1].replace(
                "&amp;", "&"
            )

        driver.get(f"{base}/register/")
        fill(name="Ada Lovelace", email=EMAIL, password=PASSWORD)
        shot("register")
        submit("/register/")
        driver.get(mailed("/email/verify/"))
        shot("email-verify")
        submit("/email/verify/")

        driver.get(f"{base}/account/")
        shot("account", full=True)
        driver.get(f"{base}/account/2fa/setup/")
        submit("/account/2fa/setup/")
        secret = driver.find_element(By.ID, "totp-secret").text
        shot("totp-setup", full=True)
        fill(code=pyotp.TOTP(secret).now())
        submit("/account/2fa/confirm/")
        shot("backup-codes")

        driver.get(f"{base}/logout/")
        shot("logout")
        submit("/logout/")
        driver.get(f"{base}/login/")
        fill(email=EMAIL, password="not my password")  # noqa: S106
        submit("/login/")
        shot("login-error")
        driver.get(f"{base}/login/")
        shot("login")
        fill(email=EMAIL, password=PASSWORD)
        submit("/login/")
        shot("login-2fa")

        driver.delete_all_cookies()
        driver.get(f"{base}/password/reset/")
        shot("password-reset")
        fill(email=EMAIL)
        submit("/password/reset/")
        driver.get(mailed("/password/reset/confirm/"))
        shot("password-reset-confirm")

        driver.get(f"{base}/login/")
        driver.find_element(By.CSS_SELECTOR, "#language option[value='fr']").click()
        submit("/i18n/setlang/")
        shot("login-fr")

        driver.delete_all_cookies()  # back to English
        driver.set_window_size(390, 800)
        driver.get(f"{base}/register/")
        shot("register-mobile")


if __name__ == "__main__":
    main()
