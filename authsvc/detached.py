"""Writes that must count whatever the caller's transaction does (a failed attempt that the
caller's rollback would erase), on a connection of their own when there is one to avoid."""

import contextlib

from django.db import DEFAULT_DB_ALIAS, connections


def in_transaction(connection) -> bool:
    # The atomic blocks a test case wraps around each test are not the caller's
    # transaction; Django's own `durable` check skips them the same way.
    return any(not block._from_testcase for block in connection.atomic_blocks)


@contextlib.contextmanager
def autocommit_cursor():
    """A cursor whose statements commit at once: the default connection's when it is not in
    a transaction (the usual case, no extra connection), else a short-lived one of its own."""
    connection = connections[DEFAULT_DB_ALIAS]
    if not in_transaction(connection):
        with connection.cursor() as cursor:
            yield cursor
        return
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with own.cursor() as cursor:
            yield cursor
    finally:
        own.close()
