"""Logs: one JSON object per line, and one request id per request, echoed and on every line."""

import io
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import path
from gunicorn.glogging import Logger, SafeAtoms
from rest_framework.exceptions import Throttled
from rest_framework.views import APIView

from audit import events
from authsvc import urls as project_urls
from authsvc.api import PublicAPIView
from authsvc.errors import DatabaseUnavailable
from authsvc.http import client_info
from authsvc.logs import (
    ACCESS_LOG_FORMAT,
    GunicornAccessFormatter,
    GunicornLogger,
    JsonFormatter,
    RequestIdFilter,
    StripQueryFilter,
    TextFormatter,
    current_request_id,
    logging_config,
)
from tests.authsvc.logs_helpers import captured_logs, lines

GENERATED = re.compile(r"[0-9a-f]{32}")
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def formatted(formatter, log) -> str:
    """What `log(logger)` writes through `formatter`."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter)
    logger = logging.getLogger("tests.logs.formatter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        log(logger)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return buffer.getvalue()


# --- The line -----------------------------------------------------------------------------


def test_a_line_is_one_json_object_with_the_fields():
    text = formatted(
        JsonFormatter(),
        lambda logger: logger.warning(
            "user %s did %s",
            "u1",
            "x",
            extra={"status_code": 418, "request": object(), "fields": {"event": "e", "n": 2}},
        ),
    )

    [line] = lines(text)
    assert text.count("\n") == 1
    assert RFC3339_UTC.fullmatch(line.pop("timestamp"))
    assert line == {
        "level": "WARNING",
        "logger": "tests.logs.formatter",
        "message": "user u1 did x",
        "request_id": None,
        "status_code": 418,
        "event": "e",
        "n": 2,
    }


def test_the_timestamp_is_utc_whatever_the_local_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    import time

    time.tzset()
    try:
        [line] = lines(formatted(JsonFormatter(), lambda logger: logger.info("now")))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    stamp = datetime.fromisoformat(line["timestamp"])
    assert stamp.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60


def test_a_traceback_stays_inside_its_line():
    def log(logger):
        try:
            raise ValueError("boom\nwith a second line")
        except ValueError:
            logger.exception("it failed\nbadly", stack_info=True)

    text = formatted(JsonFormatter(), log)

    assert text.count("\n") == 1
    [line] = lines(text)
    assert line["level"] == "ERROR"
    assert line["message"] == "it failed\nbadly"
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert "ValueError: boom\nwith a second line" in line["exc_info"]
    assert line["stack"].startswith("Stack (most recent call last):")


def test_fields_never_replace_the_line_s_own():
    [line] = lines(
        formatted(
            JsonFormatter(),
            lambda logger: logger.info("real", extra={"fields": {"message": "forged"}}),
        )
    )
    assert line["message"] == "real"


def test_the_text_format_is_one_readable_line_plus_the_traceback():
    def log(logger):
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed", extra={"fields": {"event": "x"}})

    text = formatted(TextFormatter(), log)

    first, *trace = text.splitlines()
    assert re.fullmatch(
        RFC3339_UTC.pattern + r" ERROR tests\.logs\.formatter \[-\] failed "
        r'\{"event":"x"\}',
        first,
    )
    assert trace[0].startswith("Traceback") and trace[-1] == "ValueError: boom"


def test_the_settings_send_every_logger_to_the_one_json_handler():
    # pytest adds capture handlers of its own beside the settings' one.
    [handler] = [h for h in logging.getLogger().handlers if h.formatter.__class__ is JsonFormatter]
    assert any(isinstance(f, RequestIdFilter) for f in handler.filters)
    # Django's own text handlers are gone; its lines reach the one above.
    for name in ("django", "django.server", "django.request", "authsvc.events"):
        logger = logging.getLogger(name)
        assert logger.handlers == [] and logger.propagate, name
    # SQL statements with their parameters, never, even with DJANGO_LOG_LEVEL=DEBUG.
    config = logging_config(level="DEBUG", log_format="json")
    assert config["loggers"]["django.db.backends"]["level"] == "INFO"


def test_the_development_server_s_request_line_loses_its_query():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /auth/google/callback/?code=SECRET&state=x HTTP/1.1", "302", "0"),
        None,
    )

    StripQueryFilter().filter(record)

    assert record.getMessage() == '"GET /auth/google/callback/ HTTP/1.1" 302 0'


def test_an_unknown_format_is_refused_at_start_up():
    with pytest.raises(ImproperlyConfigured, match="AUTHSVC_LOG_FORMAT"):
        logging_config(level="INFO", log_format="xml")


def test_the_text_format_is_refused_outside_debug(settings):
    settings.AUTHSVC_LOG_FORMAT = "text"
    settings.DEBUG = False
    assert "authsvc.E090" in [error.id for error in run_checks()]
    settings.DEBUG = True
    assert "authsvc.E090" not in [error.id for error in run_checks()]


def _access_line(logger_class, resp, req, environ) -> dict:
    logger = logger_class.__new__(logger_class)  # atoms() needs none of its configuration
    atoms = logger.atoms(resp, req, environ, timedelta(seconds=1, microseconds=234567))
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, ACCESS_LOG_FORMAT, (SafeAtoms(atoms),), None
    )
    line = json.loads(GunicornAccessFormatter().format(record))
    del line["timestamp"]
    return line


def test_the_lean_access_atoms_make_the_line_gunicorn_s_own_would():
    # authsvc.logs.GunicornLogger builds only the atoms the line reads: the same line as
    # from every atom gunicorn's logger builds, Basic credentials and all.
    resp = SimpleNamespace(
        status="302 Found",
        sent=17,
        headers=[("Content-Type", "application/json"), ("X-Request-ID", "req-7")],
    )
    req = SimpleNamespace(headers=[("AUTHORIZATION", "Basic c3ZjXzE6c2VjcmV0")])
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/auth/token/?x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": '/auth/token/"x',
        "QUERY_STRING": "x=1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_USER_AGENT": 'agent "quoted"',
        "HTTP_AUTHORIZATION": "Basic c3ZjXzE6c2VjcmV0",
    }

    lean = _access_line(GunicornLogger, resp, req, environ)

    assert lean == _access_line(Logger, resp, req, environ)
    assert lean["request_id"] == "req-7"
    assert (lean["method"], lean["path"], lean["status"]) == ("POST", '/auth/token/"x', 302)
    assert (lean["duration_ms"], lean["bytes"]) == (1234.567, 17)
    # Without the response's X-Request-ID, the same line again.
    resp.headers = [("Content-Type", "application/json")]
    assert _access_line(GunicornLogger, resp, req, environ) == _access_line(
        Logger, resp, req, environ
    )


def test_gunicorn_s_access_line_has_no_query_and_no_referer():
    atoms = SafeAtoms(
        {
            "h": "10.0.0.7",
            "m": "GET",
            "U": '/auth/google/callback/"x',
            "q": "code=SECRETCODE&state=s",
            "r": "GET /auth/google/callback/?code=SECRETCODE HTTP/1.1",
            "f": "https://app.example/reset?token=SECRETTOKEN",
            "a": "agent",
            "s": "302",
            "D": 1234567,
            "B": 0,
            "{x-request-id}o": "req-7",
        }
    )
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, ACCESS_LOG_FORMAT, (atoms,), None
    )

    text = GunicornAccessFormatter().format(record)

    assert "SECRET" not in text
    line = json.loads(text)
    del line["timestamp"]
    assert line == {
        "level": "INFO",
        "logger": "gunicorn.access",
        "message": 'GET /auth/google/callback/\\"x 302',
        "request_id": "req-7",
        "method": "GET",
        "path": '/auth/google/callback/"x',
        "status": 302,
        "duration_ms": 1234.567,
        "bytes": 0,
        "remote_addr": "10.0.0.7",
        "user_agent": "agent",
    }


# --- The request id -----------------------------------------------------------------------


class Boom(PublicAPIView):
    def get(self, request):
        events.record("test_event", client=client_info(request), answer=42)
        logging.getLogger("accounts").warning("about to fail")
        raise RuntimeError("the view broke")


class Busy(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request):
        raise Throttled(wait=7)


class Down(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request):
        raise DatabaseUnavailable()


def plain_boom(request):
    logging.getLogger("authsvc").info("plain view")
    raise RuntimeError("the plain view broke")


urlpatterns = [
    path("test/boom/", Boom.as_view()),
    path("test/plain-boom/", plain_boom),
    path("test/busy/", Busy.as_view()),
    path("test/down/", Down.as_view()),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


def test_each_request_gets_a_new_id_in_the_response(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]

    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


def test_a_client_s_id_is_not_believed_without_a_trusted_proxy(client, settings):
    settings.AUTHSVC_TRUSTED_PROXY_COUNT = 0

    response = client.get("/healthz", HTTP_X_REQUEST_ID="chosen-by-the-client")

    assert GENERATED.fullmatch(response["X-Request-ID"])


@pytest.mark.parametrize("offered", ["abc", "lb-1:2f.9_x-Y", "a" * 128])
def test_a_trusted_proxy_s_id_is_kept(client, settings, offered):
    settings.AUTHSVC_TRUSTED_PROXY_COUNT = 1

    assert client.get("/healthz", HTTP_X_REQUEST_ID=offered)["X-Request-ID"] == offered


@pytest.mark.parametrize(
    "offered", ["", "a" * 129, "two words", "a\\b", '{"x":1}', "line\nbreak", "é", "a/b"]
)
def test_a_malformed_id_is_replaced_even_from_a_trusted_proxy(client, settings, offered):
    settings.AUTHSVC_TRUSTED_PROXY_COUNT = 1

    response = client.get("/healthz", HTTP_X_REQUEST_ID=offered)

    assert GENERATED.fullmatch(response["X-Request-ID"])


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("method", "url", "extra", "status"),
    [
        ("get", "/nowhere", {}, 404),
        ("get", "/auth/self/", {}, 401),
        ("post", "/auth/login/", {"content_type": "application/json"}, 403),  # no CSRF
        ("get", "/auth/login/", {}, 405),
        ("get", "/healthz", {"HTTP_HOST": "evil.example"}, 400),  # not in ALLOWED_HOSTS
        ("get", "/static/admin/css/base.css", {}, 200),
        ("get", "/test/busy/", {}, 429),
        ("get", "/test/down/", {}, 503),
        ("get", "/test/boom/", {}, 500),
        ("get", "/test/plain-boom/", {}, 500),
    ],
)
def test_every_answer_carries_the_id(method, url, extra, status):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)

    response = getattr(client, method)(url, **extra)

    assert response.status_code == status
    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_the_https_redirect_carries_the_id(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/auth/csrf/")

    assert response.status_code == 301
    assert GENERATED.fullmatch(response["X-Request-ID"])


@pytest.mark.django_db
def test_every_line_of_a_request_names_it(api, user):
    with captured_logs() as logged:
        first = api.login(user.email, "not the password")
        second = api.get("/auth/self/")

    assert (first.status_code, second.status_code) == (401, 401)
    by_id = {}
    for line in lines(logged):
        by_id.setdefault(line["request_id"], []).append(line)
    mine = by_id[first["X-Request-ID"]]
    # The security event, as fields of its line, not a JSON string in the message.
    [event] = [line for line in mine if line["logger"] == "authsvc.events"]
    assert event["message"] == event["event"] == "login_failed"
    assert event["ip"] == "127.0.0.1"
    # Django's own line for the 401, written after the middleware returned.
    assert any(line["logger"] == "django.request" and line["status_code"] == 401 for line in mine)
    assert any(line["logger"] == "django.request" for line in by_id[second["X-Request-ID"]])
    assert None not in by_id
    assert current_request_id() is None


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_500_s_lines_and_traceback_carry_the_request_s_id():
    client = Client(raise_request_exception=False)
    with captured_logs() as logged:
        response = client.get("/test/boom/")

    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    rid = response["X-Request-ID"]
    logged_lines = lines(logged)
    assert {line["request_id"] for line in logged_lines} == {rid}
    by_logger = {line["logger"]: line for line in logged_lines}
    assert by_logger["authsvc.events"]["event"] == "test_event"
    assert by_logger["authsvc.events"]["answer"] == 42
    assert by_logger["accounts"]["message"] == "about to fail"
    # DRF's exception handler (authsvc/errors.py), with the traceback inside its line.
    assert "RuntimeError: the view broke" in by_logger["authsvc.errors"]["exc_info"]
    assert by_logger["django.request"]["level"] == "ERROR"


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_django_s_500_line_carries_the_id_and_the_traceback():
    client = Client(raise_request_exception=False)
    with captured_logs() as logged:
        response = client.get("/test/plain-boom/?token=SECRET")

    rid = response["X-Request-ID"]
    [error] = [line for line in lines(logged) if line["logger"] == "django.request"]
    assert error["request_id"] == rid
    assert error["message"] == "Internal Server Error: /test/plain-boom/"
    assert "RuntimeError: the plain view broke" in error["exc_info"]
    assert "SECRET" not in logged.getvalue()


@pytest.mark.django_db
def test_a_readiness_check_s_line_names_the_request(client, monkeypatch):
    def refused():
        raise OSError("connection refused")

    monkeypatch.setattr("authsvc.views._session_store_answers", refused)
    with captured_logs() as logged:
        response = client.get("/readyz")

    # The checks run on threads of their own; their lines still name the request.
    [line] = [line for line in lines(logged) if line["logger"] == "authsvc.views"]
    assert "session_store" in line["message"]
    assert line["request_id"] == response["X-Request-ID"]
