"""Typed readers for environment variables; every setting comes through these.

Every variable X may instead be given as a file: X_FILE names a file whose content, less
its trailing line break, is the value (Docker and Kubernetes secrets are files). Setting
both is an error, and so is a file that cannot be read; the messages name the variable and
the path, never the content.
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _environ(name: str) -> str | None:
    """The raw value of `name`, from the environment or from the file `name`_FILE names."""
    value = os.environ.get(name)
    path = os.environ.get(f"{name}_FILE")
    if path is None:
        return value
    if value is not None:
        raise ImproperlyConfigured(f"{name} and {name}_FILE are both set: set only one of them")
    if not path:
        raise ImproperlyConfigured(f"{name}_FILE is empty: it must name a file")
    try:
        content = Path(path).read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(
            f"{name}_FILE: cannot read {path!r} ({error.strerror or type(error).__name__})"
        ) from None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        # The decoder's own message quotes bytes of the (secret) content.
        raise ImproperlyConfigured(f"{name}_FILE: {path!r} is not UTF-8 text") from None
    # `echo secret > file` and `print()` end the value with a line break; it is not part of it.
    return text.rstrip("\r\n")


def env_str(name: str, default: str | None = None) -> str | None:
    value = _environ(name)
    return default if value is None else value


def env_set(name: str) -> bool:
    """Whether `name` (or `name`_FILE) is set, for settings whose default is only a guess."""
    return _environ(name) is not None


def env_bool(name: str, default: bool) -> bool:
    value = _environ(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be 1 or 0, not {value!r}")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _environ(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _environ(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


POOLERS = ("", "pgbouncer")


def database_from_url(
    url: str, *, base_dir: Path, timeout_seconds: int = 5, pooler: str = ""
) -> dict:
    """Turn `postgres://user:pass@host:port/db` or `sqlite:///path` into a DATABASES entry.

    On PostgreSQL `timeout_seconds` bounds every step: the connection (libpq's
    `connect_timeout`, at least 2 s), each statement and lock wait on the server, a dead
    peer (TCP keepalives, `tcp_user_timeout`), and, client-side, each round trip
    (`authsvc.postgres`). Parameters in the URL's query string override these.

    `pooler="pgbouncer"`: the URL names PgBouncer in transaction-pooling mode, where each
    transaction may run on another server connection, so nothing may live in a session:
    no server-side cursors (they outlive the transaction that opened one), no prepared
    statements (PgBouncer before 1.21 cannot route them), and no `options` startup
    parameter (PgBouncer refuses it; its `connect_query` or `ALTER ROLE ... SET` sets the
    server-side timeouts instead, docs/production.md).
    """
    if pooler not in POOLERS:
        raise ImproperlyConfigured(f"AUTHSVC_DB_POOLER must be empty or pgbouncer, not {pooler!r}")
    parsed = urlparse(url)
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute/path.db, as in dj-database-url.
        raw = unquote(parsed.path)
        path = raw[1:] if raw.startswith("/") else raw
        name = Path(path) if Path(path).is_absolute() else base_dir / path
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(name)}
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        timeouts = postgres_timeouts(timeout_seconds)
        pooled = {}
        if pooler == "pgbouncer":
            timeouts.pop("options")
            pooled = {"DISABLE_SERVER_SIDE_CURSORS": True}
            options.setdefault("prepare_threshold", None)
        return {
            **pooled,
            "ENGINE": "authsvc.postgres",
            "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": int(options.pop("conn_max_age", 60)),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {**timeouts, **options},
        }
    # Never the URL itself in the message: it may hold the password.
    scheme = f"{parsed.scheme}://" if parsed.scheme else "a value without a scheme"
    raise ImproperlyConfigured(
        f"DATABASE_URL must start with postgres:// or sqlite://, not {scheme}"
    )


# The server's own statement_timeout ends a slow query cleanly and the connection survives;
# the watchdog (authsvc/postgres) only cuts what the server could not end, this much later.
DB_SERVER_GRACE_SECONDS = 0.5


def db_watch_seconds(seconds: int) -> float:
    """How long one PostgreSQL round trip may take before the watchdog cuts it: a little
    under `seconds` (the watchdog polls every 0.1 s), so the request answers within it."""
    return max(0.5, seconds - 0.25)


def postgres_timeouts(seconds: int) -> dict[str, str]:
    """libpq parameters that keep a request from waiting on PostgreSQL for more than
    `seconds`, whether the server is slow, down or cut off."""
    ms = seconds * 1000
    server_ms = max(250, int((db_watch_seconds(seconds) - DB_SERVER_GRACE_SECONDS) * 1000))
    server = {
        "statement_timeout": server_ms,
        "lock_timeout": server_ms,
        # A client cut off mid-transaction must not hold its row locks for long; generous,
        # since a request may hash a password or wait on Redis between two statements.
        "idle_in_transaction_session_timeout": 4 * ms,
    }
    return {
        # libpq never waits less than 2 s to connect; a second under `seconds` above that.
        "connect_timeout": str(max(2, seconds - 1)),
        "keepalives": "1",
        "keepalives_idle": str(seconds),
        "keepalives_interval": "1",
        "keepalives_count": "3",
        # Bytes sent but never acknowledged (a partition) end the connection.
        "tcp_user_timeout": str(ms),
        "options": " ".join(f"-c {name}={value}" for name, value in server.items()),
    }
