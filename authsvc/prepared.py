"""Hot queries compiled once: the SQL Django's ORM builds for a queryset, kept per
database and run again with new values.

Compiling a queryset is pure Python and, for a query with subqueries, costs more CPU than
the database spends answering it: the login's user lookup (two `EXISTS` annotations) took
about 0.8 ms of a login's CPU to compile, 0.2 ms once compiled (docs/performance.md). The
SQL stays the ORM's: `PreparedFirst` compiles the queryset once per database alias, with a
marker value where the caller's value goes, and then only swaps the value in. The rows are
the model's instances, as `.first()` would give, annotations included.

This module is one of authsvc's shared modules, below `audit`: it imports no app.
"""

import threading
from collections.abc import Callable

from django.db import connections, router
from django.db.models import Model, QuerySet

# Never a real value: it marks, in the compiled parameters, where the caller's value goes.
_MARKER = "\x00authsvc-prepared-marker\x00"


class PreparedFirst:
    """`build(value).first()`, with the SQL compiled once per database. `build` must return
    a queryset of `model`'s default manager, the same query for every value, the value
    appearing once among its parameters (building the queryset is part of the cost saved,
    so it is built only to be compiled)."""

    def __init__(self, model: type[Model], build: Callable[[object], QuerySet]):
        self._model = model
        self._build = build
        self._compiled: dict[tuple, tuple[str, tuple, int]] = {}
        self._lock = threading.Lock()

    def first(self, value):
        # The database `.first()` would read: the router's choice for the model (a plain
        # query gives it no hints).
        alias = router.db_for_read(self._model)
        # The database's kind too, not only the alias's name: the SQL is its dialect, and a
        # test may point an alias at another kind of database.
        key = (alias, connections[alias].vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(self._build(_MARKER), alias)
            with self._lock:
                self._compiled[key] = compiled
        sql, params, position = compiled
        values = list(params)
        values[position] = value
        manager = self._model._default_manager.db_manager(alias)
        return next(iter(manager.raw(sql, values)), None)

    @staticmethod
    def _compile(template: QuerySet, alias: str) -> tuple[str, tuple, int]:
        # What `.first()` runs: ordered by primary key unless ordered already, one row.
        query = (template if template.ordered else template.order_by("pk"))[:1]
        sql, params = query.query.get_compiler(alias).as_sql()
        positions = [i for i, param in enumerate(params) if param == _MARKER]
        if len(positions) != 1:
            raise ValueError(f"the value must appear once in the query's parameters: {sql}")
        return sql, tuple(params), positions[0]
