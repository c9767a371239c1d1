"""Security events: one structured log line each and one `AuthEvent` row, never a
password, a token or a code.

Every register, login, refresh, reuse, logout, ban and role change goes through `record`.

When the row is written matters, because callers record from inside transactions:

- outside a transaction, at once (autocommit: durable when `record` returns);
- inside one, on commit (`on_commit(robust=True)`): "user_registered" must not survive a
  registration that rolled back, and a failing audit insert must not break the caller's
  other on-commit work;
- but an *attempt* (`ATTEMPT_SUFFIXES`: a failed password, a refused login, a detected
  refresh-token reuse) happened whatever the transaction does next, and it is usually
  followed by an exception that rolls the transaction back. On PostgreSQL such an event is
  written at once on a short-lived connection of its own, which commits independently.
  SQLite (the one-process development setup) has a single writer, so there it waits for
  the commit like any other event.
"""

import json
import logging

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from audit.models import AuthEvent
from audit.outbox import outbox_record
from authsvc import clock, metrics
from authsvc.http import ClientInfo

logger = logging.getLogger("authsvc.events")

# Logged but not stored: a refresh happens every few minutes for every open tab, so its rows
# would swamp the table and add a write to the hottest write path, for no security value
# (a refresh token's reuse, the event that matters, is stored).
NOT_STORED = frozenset({"token_refreshed"})
# Written with an asynchronous commit (see _insert): the high-volume successes.
ROUTINE = frozenset(
    {"login_succeeded", "google_login", "login_mfa_required", "logout", "service_token_issued"}
)
# Events named like this record an attempt, a fact that must outlive a rollback.
ATTEMPT_SUFFIXES = ("_failed", "_refused", "_detected")
# Details are meant to be small; a runaway value is cut rather than stored whole.
DETAIL_VALUE_MAX_LENGTH = 500


def record(
    event: str,
    *,
    user_id: str | None = None,
    sid: str | None = None,
    client: ClientInfo | None = None,
    with_caller: bool = False,
    **details,
) -> None:
    """Log, count, publish (the outbox) and store one security event.

    `with_caller=True`: the row is written in the caller's transaction, not after its
    commit: for the event of a change that transaction makes (a login's session), so both
    commit together, in one round trip instead of a transaction of its own."""
    at = clock.now()
    line = {
        "event": event,
        "at": at.isoformat(),
        "user_id": user_id,
        "sid": sid,
        "ip": client.ip if client else None,
        "user_agent": client.user_agent if client else None,
        **details,
    }
    # The line's fields, not a JSON string in its message (authsvc/logs.py writes them).
    logger.info("%s", event, extra={"fields": _loggable(line)})
    metrics.event_recorded(event, details)
    # For other services, in the caller's transaction (never detached, never on commit): a
    # rolled-back change must publish nothing, a committed one must not lose its event.
    outbox_record(event, user_id=user_id, sid=sid, details=details, at=at)
    if event in NOT_STORED:
        return
    row = {
        "type": event,
        "user_id": user_id,
        "session_id": sid,
        "ip": client.ip if client else None,
        "user_agent": client.user_agent if client else "",
        "created_at": at,
        "details": {key: _small(value) for key, value in details.items()},
    }
    if with_caller and _in_transaction(connections[DEFAULT_DB_ALIAS]):
        AuthEvent.objects.create(**row)
        return
    _persist(row)


def _loggable(line: dict) -> dict:
    return json.loads(json.dumps(line, default=str))


def _small(value):
    value = json.loads(json.dumps(value, default=str))
    if isinstance(value, str) and len(value) > DETAIL_VALUE_MAX_LENGTH:
        return value[:DETAIL_VALUE_MAX_LENGTH]
    return value


def _in_transaction(connection) -> bool:
    # The atomic blocks a test case wraps around each test are not the caller's
    # transaction; Django's own `durable` check skips them the same way.
    return any(not block._from_testcase for block in connection.atomic_blocks)


def _persist(row: dict) -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    if not _in_transaction(connection):
        _insert(row)
    elif row["type"].endswith(ATTEMPT_SUFFIXES) and connection.vendor == "postgresql":
        _insert_detached(row)
    else:
        transaction.on_commit(lambda: _insert(row), robust=True)


def _insert(row: dict) -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    if row["type"] in ROUTINE and connection.vendor == "postgresql":
        # Every login writes one: it need not wait for the WAL flush. A crash can lose the
        # last fraction of a second of these rows, never an attempt, a ban or a change.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            AuthEvent.objects.create(**row)
        return
    AuthEvent.objects.create(**row)


def _insert_detached(row: dict) -> None:
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        columns = [AuthEvent._meta.get_field(name).column for name in row]
        values = [json.dumps(value) if name == "details" else value for name, value in row.items()]
        placeholders = ", ".join("%s::jsonb" if name == "details" else "%s" for name in row)
        table = own.ops.quote_name(AuthEvent._meta.db_table)
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model
            table, ", ".join(own.ops.quote_name(c) for c in columns), placeholders
        )
        with own.cursor() as cursor:
            cursor.execute(sql, values)
    except Exception:
        # The log line above already holds the event; the caller's flow must go on.
        logger.exception("audit event %s could not be stored", row["type"])
    finally:
        own.close()
