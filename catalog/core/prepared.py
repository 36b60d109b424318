"""Prepared statements for the catalog's hot reads (the list, search and facet statements of
catalog.selectors).

Django's PostgreSQL backend binds parameters on the client: every statement reaches the
server as new text, which PostgreSQL parses, analyses and plans each time (1–3 ms for the
catalog's page and facet statements). A cursor that binds on the server sends the same text
with the values apart, so psycopg prepares a statement it has run `prepare_threshold` times
(DB_PREPARE_THRESHOLD in config.settings) and PostgreSQL skips the parsing and, once it has settled on a generic plan,
the planning. Used only for statements written for it: values as parameters, types given by
casts or by the columns they are compared with.

Connection poolers in transaction mode (PgBouncer before 1.21) do not keep prepared
statements: set DB_PREPARE_THRESHOLD to an empty value there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def cursor() -> Iterator:
    """A cursor of the default connection, wrapped as Django wraps its own (query logging,
    execute wrappers), that binds parameters on the server when the database is PostgreSQL."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cur:
            yield cur
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = ServerBindingCursor(connection.connection)
    wrapped = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with wrapped as cur:
        yield cur


class CompiledGet:
    """A queryset that reads one row by primary key (with its select_related rows and
    annotations), compiled to SQL once per database instead of on every call.

    Django compiles a queryset's SQL each time it runs it: for the row a write service locks
    with the institutions and regions it needs (three to five joins, ~100 columns), that is
    ~1 ms of Python per write, more than the statement takes in PostgreSQL. `get(pk)` runs the
    SQL compiled on the first call with the new key, through a cursor that binds on the server
    (so PostgreSQL also keeps the statement prepared, see `cursor`), and builds the instance
    as Django's ModelIterable does. `build(pk)` makes the queryset; it must end in
    `.filter(pk=pk)` and take no other parameters.
    """

    def __init__(self, build):
        self._build = build
        # One plan per thread (and database): its converters and compiler belong to the
        # thread's own connection, as Django's would.
        self._local = threading.local()

    def get(self, pk):
        """The instance with primary key `pk` (DoesNotExist when there is none)."""
        plans = self._local.__dict__.setdefault("plans", {})
        plan = plans.get(connection.alias)
        if plan is None:
            plan = plans[connection.alias] = self._plan()
        sql, model, init_list, start, end, populators, annotations, converters, compiler = plan
        with cursor() as cur:
            cur.execute(sql, (pk,))
            row = cur.fetchone()
        if row is None:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        obj = model.from_db(connection.alias, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for name, position in annotations.items():
            setattr(obj, name, row[position])
        return obj

    _PROBE = 2_147_000_001  # a key no table holds, to find the key's place among the parameters

    def _plan(self) -> tuple:
        from django.db.models.query import get_related_populators

        queryset = self._build(self._PROBE)
        compiler = queryset.query.get_compiler(using=connection.alias)
        sql, params = compiler.as_sql()
        if list(params) != [self._PROBE]:
            raise ValueError(f"CompiledGet needs a queryset whose only parameter is the key, not {params!r}")
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, connection.alias)
        converters = compiler.get_converters([column[0] for column in select[0 : compiler.col_count]])
        return (
            sql,
            klass_info["model"],
            init_list,
            start,
            end,
            populators,
            dict(compiler.annotation_col_map or {}),
            converters,
            compiler,
        )
