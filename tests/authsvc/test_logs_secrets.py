"""No secret in the logs: the credential flows run with DEBUG logging captured, in process and
through a real gunicorn, and no password, token, key, code, client secret, cookie or
Authorization header they carried appears anywhere in what was written."""

import base64
import http.cookies
import json
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pyotp
import pytest
from django.conf import settings
from django.core import mail

from accounts.models import User
from accounts.passwords import reset_uid
from accounts.tokens import email_verify_key_make, reset_tokens
from tests.accounts.mfa_helpers import enrol, login_challenged, verify
from tests.accounts.test_login_codes import code_in
from tests.authsvc.logs_helpers import captured_logs, lines
from tests.conftest import basic_auth
from tests.live import CSRF, LiveServer, database_url

PASSWORD = "correct horse battery staple 7"
NEW_PASSWORD = "a fresh passphrase for the reset 9"
WRONG_PASSWORD = "correct horse battery stapel 7"  # a typo is a secret too
WRONG_CLIENT_SECRET = "not-the-client-secret-0123456789"


def assert_no_secret(text: str, secrets: list[str]) -> None:
    secrets = [secret for secret in secrets if secret]
    assert len(secrets) >= 15
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == [], "secrets in the logs"


def cookie_values(cookies) -> list[str]:
    return [morsel.value for morsel in cookies.values() if morsel.value]


# --- In process ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_credential_flows_log_no_secret(client_factory, make_service_client, clock):
    secrets = [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, WRONG_CLIENT_SECRET]

    def seen(response, expected=200):
        assert response.status_code == expected, response.content
        assert response["X-Request-ID"]
        secrets.extend(cookie_values(response.cookies))
        return response

    with captured_logs() as logged:
        browser = client_factory()
        email = "secrets@example.com"
        seen(browser.register(email, password=PASSWORD), 201)
        user = User.objects.get(email=email)
        secrets.append(browser.csrf())
        seen(browser.get("/auth/self/"))
        clock.advance(seconds=1)
        seen(browser.post_json("/auth/refresh/"))
        access = browser.cookie("access_token")
        seen(browser.get("/auth/self/", HTTP_AUTHORIZATION=f"Bearer {access}"))

        key = email_verify_key_make(user)
        secrets.append(key)
        seen(browser.post_json("/auth/email/verify/", {"key": key}))

        enrolled = enrol(browser, clock)
        secrets += [enrolled.totp.secret, enrolled.code(clock, seconds=-30)]
        secrets += enrolled.backup_codes

        second = client_factory()
        seen(login_challenged(second, email, PASSWORD))
        code = enrolled.code(clock)
        secrets.append(code)
        seen(verify(second, code))
        third = client_factory()
        seen(login_challenged(third, email, PASSWORD))
        seen(verify(third, enrolled.backup_codes[0]))
        refused = seen(client_factory().login(email, WRONG_PASSWORD), 401)

        seen(client_factory().post_json("/auth/password/reset/", {"email": email}), 202)
        token = reset_tokens.make_token(User.objects.get(pk=user.pk))
        secrets.append(token)
        confirm = {"uid": reset_uid(user), "token": token, "new_password": NEW_PASSWORD}
        seen(client_factory().post_json("/auth/password/reset/confirm/", confirm))

        # A sign-in code (the account has 2FA: the code earns the challenge).
        seen(client_factory().post_json("/auth/login/code/", {"email": email}), 202)
        sign_in_code = code_in(mail.outbox[-1])
        secrets.append(sign_in_code)
        by_code = {"email": email, "code": sign_in_code}
        seen(client_factory().post_json("/auth/login/code/confirm/", by_code))
        secrets += [message.body for message in mail.outbox]

        service, client_secret = make_service_client(scopes=["introspect"])
        secrets.append(client_secret)
        for secret, status in ((client_secret, 200), (WRONG_CLIENT_SECRET, 401)):
            response = seen(
                client_factory().generic(
                    "POST",
                    "/auth/token/",
                    "grant_type=client_credentials",
                    content_type="application/x-www-form-urlencoded",
                    HTTP_AUTHORIZATION=basic_auth(service.client_id, secret),
                ),
                status,
            )
            if status == 200:
                secrets.append(response.json()["access_token"])
        secrets.append(basic_auth(service.client_id, client_secret).split()[1])

    logged_lines = lines(logged)
    assert len({line["request_id"] for line in logged_lines}) > 10
    [failed] = [line for line in logged_lines if line.get("event") == "login_failed"]
    assert failed["request_id"] == refused["X-Request-ID"]
    assert_no_secret(logged.getvalue(), secrets)


# --- Through gunicorn ---------------------------------------------------------------------


class Http:
    """A client for the live server that keeps cookies and every response's request id."""

    def __init__(self, base: str):
        self.base = base
        self.cookies: dict[str, str] = {"csrftoken": CSRF}
        self.answers: list[tuple[str, str, int, str]] = []  # method, path, status, id

    def call(self, method, path, body=None, *, form=None, headers=None, cookies=True):
        sent = {"X-CSRFToken": CSRF}
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if form is not None:
            data, sent["Content-Type"] = (
                urlencode(form).encode(),
                "application/x-www-form-urlencoded",
            )
        elif body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        sent.update(headers or {})
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                status, raw, received = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, received = error.code, error.read(), error.headers
        for header in received.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        self.answers.append((method, path.split("?")[0], status, received["X-Request-ID"]))
        return status, json.loads(raw or b"{}")


GUNICORN_ARGS = ("-c", "gunicorn.conf.py", "--workers", "1", "--threads", "4")
GUNICORN_ARGS += ("--log-level", "debug")


@pytest.fixture
def live(transactional_db, tmp_path):
    server = LiveServer(
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        keys_dir=str(tmp_path / "keys"),
        log=tmp_path / "gunicorn.log",
        gunicorn_args=GUNICORN_ARGS,
        DJANGO_LOG_LEVEL="DEBUG",
        # The same key as this process, which then makes the reset and verification keys
        # the emails would carry (the mail itself goes nowhere).
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    with server:
        yield server


def test_through_gunicorn_every_line_is_json_names_its_request_and_holds_no_secret(
    live, make_service_client
):
    secrets = [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, WRONG_CLIENT_SECRET, CSRF]
    email = "live-secrets@example.com"
    browser = Http(live.base)

    assert browser.call("POST", "/auth/register/", {"email": email, "password": PASSWORD})[0] == 201
    user = User.objects.get(email=email)
    secrets += browser.cookies.values()
    assert browser.call("POST", "/auth/refresh/")[0] == 200
    secrets += browser.cookies.values()
    access = browser.cookies["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert browser.call("GET", "/auth/self/", headers=bearer, cookies=False)[0] == 200
    key = email_verify_key_make(user)
    secrets.append(key)
    assert browser.call("POST", "/auth/email/verify/", {"key": key})[0] == 200

    status, setup = browser.call("POST", "/auth/2fa/totp/setup/")
    assert status == 200
    totp = pyotp.TOTP(setup["secret"])
    code = totp.now()
    secrets += [setup["secret"], code, setup["otpauth_uri"]]
    status, confirmed = browser.call("POST", "/auth/2fa/totp/confirm/", {"code": code})
    assert status == 200
    secrets += confirmed["backup_codes"] + list(browser.cookies.values())

    second = Http(live.base)
    status, body = second.call("POST", "/auth/login/", {"email": email, "password": PASSWORD})
    assert (status, body["mfa_required"]) == (200, True)
    secrets += second.cookies.values()
    backup = confirmed["backup_codes"][0]
    assert second.call("POST", "/auth/2fa/verify/", {"code": backup})[0] == 200
    secrets += second.cookies.values()
    stranger = Http(live.base)
    wrong = {"email": email, "password": WRONG_PASSWORD}
    assert stranger.call("POST", "/auth/login/", wrong)[0] == 401

    assert browser.call("POST", "/auth/password/reset/", {"email": email})[0] == 202
    token = reset_tokens.make_token(User.objects.get(pk=user.pk))
    secrets.append(token)
    confirm = {"uid": reset_uid(user), "token": token, "new_password": NEW_PASSWORD}
    assert browser.call("POST", "/auth/password/reset/confirm/", confirm)[0] == 200

    service, client_secret = make_service_client(scopes=["introspect"])
    secrets.append(client_secret)
    grant = {"grant_type": "client_credentials"}
    status, issued = browser.call(
        "POST",
        "/auth/token/",
        form=grant,
        headers={"Authorization": basic_auth(service.client_id, client_secret)},
        cookies=False,
    )
    assert status == 200
    secrets.append(issued["access_token"])
    secrets.append(base64.b64encode(f"{service.client_id}:{client_secret}".encode()).decode())
    wrong_client = {"Authorization": basic_auth(service.client_id, WRONG_CLIENT_SECRET)}
    assert browser.call("POST", "/auth/token/", form=grant, headers=wrong_client)[0] == 401
    # A secret in a query string (a reset link opened on the API by mistake, an OAuth code).
    browser.call("GET", f"/auth/google/callback/?code={token}&state={key}")

    live.stop()
    text = live.log.read_text()
    logged = lines(text)
    assert_no_secret(text, secrets)

    access_lines = {
        line["request_id"]: line for line in logged if line["logger"] == "gunicorn.access"
    }
    answers = browser.answers + second.answers + stranger.answers
    for method, path, status, request_id in answers:
        assert request_id, path
        line = access_lines[request_id]
        assert (line["method"], line["path"], line["status"]) == (method, path, status)
        assert line["duration_ms"] >= 0 and line["remote_addr"] == "127.0.0.1"
    # The application's own lines of a request name it too: the login that failed.
    [failed] = [line for line in logged if line.get("event") == "login_failed"]
    assert failed["request_id"] == stranger.answers[0][3]


def test_through_gunicorn_a_trusted_proxy_s_id_is_the_access_line_s(transactional_db, tmp_path):
    server = LiveServer(
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        keys_dir=str(tmp_path / "keys"),
        log=tmp_path / "gunicorn.log",
        gunicorn_args=("-c", "gunicorn.conf.py", "--workers", "1"),
        AUTHSVC_TRUSTED_PROXY_COUNT="1",
    )
    with server:
        proxied = Http(server.base)
        for offered in ("lb-7f3a:0001", "not well formed!"):
            proxied.call("GET", "/nowhere", headers={"X-Request-ID": offered})
    text = server.log.read_text()

    (_, _, _, kept), (_, _, _, replaced) = proxied.answers
    assert kept == "lb-7f3a:0001"
    assert len(replaced) == 32 and replaced != "not well formed!"
    access = [line for line in lines(text) if line["logger"] == "gunicorn.access"]
    assert [line["request_id"] for line in access if line["path"] == "/nowhere"] == [
        kept,
        replaced,
    ]
    assert "not well formed!" not in text
