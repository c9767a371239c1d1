"""Capture what the service logs, formatted as the settings format it, and read it back."""

import contextlib
import io
import json
import logging

from authsvc.logs import JsonFormatter, RequestIdFilter


@contextlib.contextmanager
def captured_logs(level=logging.DEBUG):
    """Every record of every logger at `level` and up, as the JSON lines the service writes.
    Yields the buffer; `lines(buffer)` parses it."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    # The levels the settings give: with DJANGO_LOG_LEVEL=DEBUG, root and "django" are DEBUG.
    loggers = [root, logging.getLogger("django")]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        for logger, old in zip(loggers, saved, strict=True):
            logger.setLevel(old)


def lines(text) -> list[dict]:
    """Each line of `text` (a string or a captured buffer) as the one JSON object it must be."""
    text = text.getvalue() if hasattr(text, "getvalue") else text
    parsed = []
    for raw in text.splitlines():
        line = json.loads(raw)
        assert isinstance(line, dict), raw
        parsed.append(line)
    return parsed
