"""Django's PostgreSQL backend with every round trip watched (see `outage`)."""

from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base

from authsvc.postgres.outage import WATCHDOG, breaker_for


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.watch_seconds = settings.AUTHSVC_DB_WATCH_SECONDS
        # First in the list: the outermost wrapper, so it also bounds the others' time.
        self.execute_wrappers.insert(0, self._watched_execute)

    @property
    def breaker(self):
        return breaker_for(self.settings_dict)

    def _watched_execute(self, execute, sql, params, many, context):
        watch = WATCHDOG.start(self.connection, self.watch_seconds, self)
        try:
            return execute(sql, params, many, context)
        finally:
            WATCHDOG.stop(watch)

    @contextmanager
    def _watched(self):
        watch = WATCHDOG.start(self.connection, self.watch_seconds, self)
        try:
            yield
        finally:
            WATCHDOG.stop(watch)

    @contextmanager
    def unbounded(self):
        """Lift the bounds for maintenance work that legitimately runs long in a process of
        its own (seeding a benchmark); never in a request."""
        if settings.AUTHSVC_DB_POOLER:
            # A session-level SET through a transaction-pooling PgBouncer would land on some
            # server connection and lift the timeout for whichever client gets it next.
            raise ImproperlyConfigured(
                "Long maintenance work must connect straight to PostgreSQL: unset "
                "AUTHSVC_DB_POOLER and point DATABASE_URL at the server, not PgBouncer."
            )
        saved, self.watch_seconds = self.watch_seconds, 24 * 3600
        try:
            with self.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")
            yield
        finally:
            self.watch_seconds = saved
            if self.is_usable():
                with self.cursor() as cursor:
                    cursor.execute("RESET statement_timeout")

    def get_new_connection(self, conn_params):
        breaker = self.breaker
        if breaker.is_open:
            # Another attempt would cost this worker the whole connect timeout; the breaker's
            # probe reconnects in the background instead.
            raise psycopg.OperationalError(
                f"PostgreSQL {breaker.name} did not answer recently; waiting for it to answer"
            )
        try:
            connection = super().get_new_connection(conn_params)
        except psycopg.OperationalError as exc:
            breaker.trip(str(exc).splitlines()[0], conn_params, self.watch_seconds)
            raise
        breaker.remember(conn_params, self.watch_seconds)
        return connection

    def init_connection_state(self):
        with self._watched():
            super().init_connection_state()

    def is_usable(self):
        if self.connection is None or self.breaker.is_open:
            return False
        with self._watched():
            return super().is_usable()

    def _commit(self):
        with self._watched():
            return super()._commit()

    def _rollback(self):
        with self._watched():
            return super()._rollback()
