"""Logs: one JSON object per line, and the request id every line of a request carries.

Django's loggers, the project's, the security events (`audit.events`) and gunicorn's access
and error logs all go through `JsonFormatter` (the settings' `LOGGING` and, for gunicorn,
`gunicorn_logconfig()` in `gunicorn.conf.py`). A line is
`{"timestamp", "level", "logger", "message", "request_id", ...fields}`, with a traceback as
the `exc_info` string of that same line, never as lines of its own.

`RequestIdMiddleware` (first in MIDDLEWARE) picks the id of each request, keeps it in a
context variable that `RequestIdFilter` and the formatter read, and echoes it in the
`X-Request-ID` response header, which gunicorn's access line takes it from.
"""

import contextlib
import contextvars
import json
import logging
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from gunicorn.glogging import Logger as _GunicornLogger

HEADER = "X-Request-ID"
# Bounded and plain, so a proxy's id can neither bloat nor break a log line.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
LOG_FORMATS = ("json", "text")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "authsvc_request_id", default=None
)


def current_request_id() -> str | None:
    return _request_id.get()


@contextlib.contextmanager
def request_id_context(value: str | None):
    """Lines written inside name `value`: work a request left for later (a queued mail)
    names that request when it is done."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


def request_id_for(request) -> str:
    """The trusted proxy's `X-Request-ID` when it is well-formed, else a new id."""
    # Without a trusted proxy the header comes from the client, who could then file its
    # lines under another request's id; the proxy in front overwrites whatever it was sent.
    if settings.AUTHSVC_TRUSTED_PROXY_COUNT:
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        if REQUEST_ID_PATTERN.fullmatch(offered):
            return offered
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so every answer (redirects, static files, CSRF failures, 404s,
    429s, 500s and 503s) passes back through it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request)
        # Not reset on the way out: Django logs a 4xx/5xx (`django.request`) after the
        # middleware returns. `clear_request_id` runs when the response is closed.
        _request_id.set(request.request_id)
        response = self.get_response(request)
        response[HEADER] = request.request_id
        return response


def clear_request_id(**kwargs) -> None:
    """A `request_started`/`request_finished` receiver: a worker thread's next request, or
    its lines between requests, never inherit the last request's id."""
    _request_id.set(None)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (`None` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        return True


class StripQueryFilter(logging.Filter):
    """The development server logs its request line with the query string, where a link's
    `?token=` or Google's `?code=` would be; this keeps the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (re.sub(r"\?\S*", "", record.args[0]), *record.args[1:])
        return True


# A record's own attributes; anything else on it came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "fields",
    # Django's records carry the HttpRequest, whose repr holds the query string.
    "request",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line. Structured data comes from
    `extra={"fields": {...}}` and from `extra=` values that are plain JSON scalars."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.to_dict(record), default=str, separators=(",", ":"))

    def to_dict(self, record: logging.LogRecord) -> dict:
        fields = self.fields(record)
        line = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
        }
        for key, value in fields.items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return line

    def fields(self, record: logging.LogRecord) -> dict:
        fields = {
            key: value
            for key, value in vars(record).items()
            if key not in _RECORD_ATTRIBUTES
            and not key.startswith("_")
            and isinstance(value, str | int | float | bool | None)
        }
        fields.update(getattr(record, "fields", None) or {})
        return fields


class TextFormatter(JsonFormatter):
    """`AUTHSVC_LOG_FORMAT=text`, for reading `make run` in a terminal (debug only):
    `time LEVEL logger [request id] message {fields}`, a traceback on the lines after."""

    def format(self, record: logging.LogRecord) -> str:
        line = self.to_dict(record)
        line["request_id"] = line["request_id"] or "-"
        text = "{timestamp} {level} {logger} [{request_id}] {message}".format(
            **{key: line.pop(key) for key in ("timestamp", "level", "logger", "request_id")},
            message=line.pop("message"),
        )
        trace = [line.pop(key) for key in ("exc_info", "stack") if key in line]
        if line:
            text += " " + json.dumps(line, default=str, separators=(",", ":"))
        return "\n".join([text, *trace])


class GunicornAccessFormatter(JsonFormatter):
    """gunicorn's access line: its atoms arrive as the record's args (a mapping)."""

    def fields(self, record: logging.LogRecord) -> dict:
        atoms = record.args if isinstance(record.args, Mapping) else {}

        def atom(key):
            value = atoms.get(key)
            # gunicorn escapes quotes for its text format; "-" is its "none".
            return None if value in (None, "-") else str(value).replace('\\"', '"')

        if request_id := atom("{x-request-id}o"):
            record.request_id = request_id
        status = atom("s")
        duration_us = atoms.get("D")
        # The path without the query string: a link's `?token=` or an OAuth `?code=` must
        # never reach a log. No referer for the same reason.
        return {
            "method": atom("m"),
            "path": atom("U"),
            "status": int(status) if status and status.isdigit() else status,
            "duration_ms": round(duration_us / 1000, 3) if isinstance(duration_us, int) else None,
            "bytes": atoms.get("B"),
            "remote_addr": atom("h"),
            "user_agent": atom("a"),
        }


# gunicorn's `access_log_format`: the message of its JSON access line (fields above).
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s"


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger (`logger_class` in gunicorn.conf.py), whose access line carries only
    the atoms `GunicornAccessFormatter` reads. gunicorn's own builds about 60 for every
    request (every request and response header, every WSGI environ variable, the date in
    Apache's format, the user of a Basic `Authorization` header decoded), then escapes them
    all: about 30 µs of every request's time holding the interpreter, for fields the JSON line
    never shows. The fields, their values and the message are the same."""

    def atoms(self, resp, req, wsgi_environ, request_time):
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        atoms = {
            "h": wsgi_environ.get("REMOTE_ADDR", "-"),
            "m": wsgi_environ.get("REQUEST_METHOD"),
            "U": wsgi_environ.get("PATH_INFO"),
            "s": status,
            "B": getattr(resp, "sent", None),
            "a": wsgi_environ.get("HTTP_USER_AGENT", "-"),
            "D": request_time.seconds * 1_000_000 + request_time.microseconds,
        }
        headers = resp.headers.items() if hasattr(resp.headers, "items") else resp.headers
        for name, value in headers:
            if name.lower() == HEADER.lower():
                atoms["{x-request-id}o"] = value
        return atoms


def logging_config(*, level: str, log_format: str) -> dict:
    """Django's LOGGING: every logger through one handler on stdout, in `log_format`."""
    if log_format not in LOG_FORMATS:
        raise ImproperlyConfigured(
            f"AUTHSVC_LOG_FORMAT={log_format!r}: use one of {', '.join(LOG_FORMATS)}."
        )
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "authsvc.logs.RequestIdFilter"},
            "strip_query": {"()": "authsvc.logs.StripQueryFilter"},
        },
        "formatters": {
            "json": {"()": "authsvc.logs.JsonFormatter"},
            "text": {"()": "authsvc.logs.TextFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's defaults give "django" and "django.server" text handlers of their own;
            # here they only propagate to the one above.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": [], "filters": ["strip_query"], "propagate": True},
            # Under DEBUG, Django logs every SQL statement with its parameters at DEBUG: TOTP
            # secrets, token digests and password hashes. Never, whatever the level.
            "django.db.backends": {"level": "INFO"},
            # Security events are INFO: kept when the rest is quieter.
            "authsvc.events": {"level": "INFO"},
        },
    }


def gunicorn_logconfig() -> dict:
    """gunicorn's `logconfig_dict`: its error and access logs as JSON lines on stdout."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {
            "json": {"()": JsonFormatter},
            "access": {"()": GunicornAccessFormatter},
        },
        "handlers": {
            "console": {**handler, "formatter": "json", "filters": ["request_id"]},
            "access": {**handler, "formatter": "access"},
        },
        "root": {"handlers": ["console"], "level": "INFO"},
        # No level for gunicorn.error: gunicorn sets it from its own --log-level.
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "propagate": False},
            "gunicorn.access": {"handlers": ["access"], "propagate": False},
        },
    }
