"""Statements compiled once: the catalog's hot reads (the list, search and facet statements of
catalog.selectors) and the reads and writes of every workflow step (`CompiledGet`,
`CompiledRows`, `insert`, `update`).

Django compiles a queryset's SQL each time it runs it, a large part of a short statement's cost
in Python, and binds the values into the text on the client, so PostgreSQL parses, analyses and
plans every statement anew. These statements are made once and run through a cursor that binds
on the server: the same text comes back with the values apart, psycopg prepares a statement a
connection has run `prepare_threshold` times (DB_PREPARE_THRESHOLD in config.settings), and
PostgreSQL skips the parsing and, once it has settled on a generic plan, the planning (1–3 ms
for the catalog's page and facet statements). Only statements written for it bind so: a generic
plan cannot use a partial index whose condition a parameter decides (status = $1), so a
statement that relies on one keeps its condition's values in its text. They give their values
as parameters, their types by casts or by the columns they are compared with.

Connection poolers in transaction mode (PgBouncer before 1.21) do not keep prepared
statements: set DB_PREPARE_THRESHOLD to an empty value there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from django.db import DEFAULT_DB_ALIAS, connections

# psycopg turns a statement's %s placeholders into PostgreSQL's $1, $2… and caches the result
# (128 statements), but not for statements longer than 4 KiB: it re-parses those on every call
# (0.1–0.3 ms of Python). The statements of the write path are longer (a request locked with its
# entry, institutions and regions has ~120 columns): 16 KiB is cached, while the INSERTs of a
# bulk import (hundreds of rows) still are not. (A module constant of psycopg's, checked by
# tests/catalog/core/test_prepared.py.)
LONGEST_CACHED_STATEMENT = 16 * 1024


def _cache_long_statements() -> None:
    try:
        from psycopg import _queries
    except ImportError:  # no psycopg: SQLite only
        return
    if getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", LONGEST_CACHED_STATEMENT) < LONGEST_CACHED_STATEMENT:
        _queries.MAX_CACHED_STATEMENT_LENGTH = LONGEST_CACHED_STATEMENT


_cache_long_statements()


def _db():
    """The default connection of this thread, looked up once by each call here: every attribute
    read through django.db.connection looks it up again (~1 µs each, dozens a write)."""
    return connections[DEFAULT_DB_ALIAS]


@contextmanager
def cursor(db=None) -> Iterator:
    """A cursor of the default connection (or of `db`), wrapped as Django wraps its own (query
    logging, execute wrappers), that binds parameters on the server when the database is
    PostgreSQL."""
    db = db or _db()
    if db.vendor != "postgresql":
        with db.cursor() as cur:
            yield cur
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    db.ensure_connection()
    db.validate_thread_sharing()
    # One cursor per connection, used again by every call: a new cursor would set up its
    # adapters again (Django's time-zone loader reads the session's settings for each), ~30 µs
    # a statement. It is not closed after use (the result it holds is dropped by the next one).
    pg = db.connection
    raw = db.__dict__.get("_compiled_cursor")
    if raw is None or raw.connection is not pg or raw.closed:
        raw = db._compiled_cursor = ServerBindingCursor(pg)
    yield db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)


class CompiledGet:
    """A queryset that reads one row by primary key (with its select_related rows and
    annotations), compiled to SQL once per database instead of on every call.

    Django compiles a queryset's SQL each time it runs it: for the row a write service locks
    with the institutions and regions it needs (three to five joins, ~100 columns), that is
    ~1 ms of Python per write, more than the statement takes in PostgreSQL. `get(pk)` runs the
    SQL compiled on the first call with the new key, through a cursor that binds on the server
    (so PostgreSQL also keeps the statement prepared, see `cursor`), and builds the instance
    as Django's ModelIterable does. `build(pk)` makes the queryset; it must end in
    `.filter(pk=pk)` (the key may appear more than once), and any other parameter it has is a
    constant of the statement. `all(key)`
    reads every row of a queryset built alike (`.filter(request_id=key)`).
    """

    def __init__(self, build):
        self._build = build
        # One plan per thread (and database): its converters and compiler belong to the
        # thread's own connection, as Django's would.
        self._local = threading.local()

    def get(self, pk):
        """The instance with primary key `pk` (DoesNotExist when there is none)."""
        plan = self._plan_here()
        with cursor(_db()) as cur:
            cur.execute(plan[0], plan[1](pk))
            row = cur.fetchone()
        if row is None:
            model = plan[2]
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        return self._instance(plan, row)

    def all(self, key) -> list:
        """Every instance the queryset built with `key` finds (a queryset of rows by a foreign
        key, say), in its order."""
        plan = self._plan_here()
        with cursor(_db()) as cur:
            cur.execute(plan[0], plan[1](key))
            rows = cur.fetchall()
        return [self._instance(plan, row) for row in rows]

    def _plan_here(self) -> tuple:
        plans = self._local.__dict__.setdefault("plans", {})
        plan = plans.get(DEFAULT_DB_ALIAS)
        if plan is None:
            plan = plans[DEFAULT_DB_ALIAS] = self._plan()
        return plan

    @staticmethod
    def _instance(plan: tuple, row):
        _sql, _bind, model, init_list, start, end, populators, annotations, converters, compiler = plan
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        obj = model.from_db(DEFAULT_DB_ALIAS, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for name, position in annotations.items():
            setattr(obj, name, row[position])
        return obj

    def _plan(self) -> tuple:
        from django.db.models.query import get_related_populators

        compiler = self._build(_PROBE).query.get_compiler(using=DEFAULT_DB_ALIAS)
        sql, bind = _compiled(compiler, type(self).__name__)
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, DEFAULT_DB_ALIAS)
        converters = compiler.get_converters([column[0] for column in select[0 : compiler.col_count]])
        return (
            sql,
            bind,
            klass_info["model"],
            init_list,
            start,
            end,
            populators,
            dict(compiler.annotation_col_map or {}),
            converters,
            compiler,
        )


class CompiledRows:
    """A values_list queryset by one key (`build(key)`, as CompiledGet's), compiled once per
    thread; `rows(key)` gives its rows as tuples."""

    def __init__(self, build):
        self._build = build
        self._local = threading.local()

    def rows(self, key) -> list[tuple]:
        plan = self._local.__dict__.get("plan")
        if plan is None:
            plan = self._local.plan = self._plan()
        sql, bind = plan
        with cursor(_db()) as cur:
            cur.execute(sql, bind(key))
            return cur.fetchall()

    def _plan(self) -> tuple:
        return _compiled(self._build(_PROBE).query.get_compiler(using=DEFAULT_DB_ALIAS), type(self).__name__)


_PROBE = 2_147_000_001  # a key no table holds, to find the key's place among the parameters


def _compiled(compiler, what: str) -> tuple:
    """The SQL of a queryset built with _PROBE as its key, and bind(key): its parameters with
    the key in each place the probe took (the others are constants of the statement)."""
    sql, params = compiler.as_sql()
    params = list(params)
    places = [i for i, value in enumerate(params) if value == _PROBE]
    if not places:
        raise ValueError(f"{what} needs a queryset with the key among its parameters, not {params!r}")
    return sql, (_alone if len(params) == 1 else partial(_in_place, params, places))


def _alone(key) -> tuple:
    return (key,)


def _in_place(params: list, places: list[int], key) -> list:
    bound = params.copy()
    for place in places:
        bound[place] = key
    return bound


_INSERTS: dict[tuple, tuple] = {}


def insert(objs: list) -> list:
    """Insert unsaved rows of one model in one statement, as `bulk_create` does (no signals;
    an auto key read back with RETURNING), but with the statement's text made once per model
    and row count instead of compiled by Django on every call (~0.3 ms of Python for the audit
    row and the event of each write: issue 16)."""
    if not objs:
        return objs
    model, db = type(objs[0]), _db()
    if not db.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(objs)
    key = (model, len(objs), db.vendor)
    plan = _INSERTS.get(key)
    if plan is None:
        plan = _INSERTS[key] = _insert_plan(db, model, len(objs))
    sql, fields, returning = plan
    params = [field.get_db_prep_save(field.pre_save(obj, True), db) for obj in objs for field in fields]
    with cursor(db) as cur:
        cur.execute(sql, params)
        if returning is not None:
            for obj, row in zip(objs, cur.fetchall(), strict=True):
                setattr(obj, returning.attname, row[0])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS
    return objs


def _insert_plan(db, model, rows: int) -> tuple:
    from django.db.models.fields import AutoFieldMixin

    opts, quote = model._meta, db.ops.quote_name
    pk = opts.pk
    returning = pk if isinstance(pk, AutoFieldMixin) else None
    fields = [f for f in opts.concrete_fields if f is not returning]
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns, values = ", ".join(quote(f.column) for f in fields), ", ".join([one] * rows)
    sql = f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES {values}"  # noqa: S608 - values are parameters
    if returning is not None:
        sql += f" RETURNING {quote(opts.db_table)}.{quote(returning.column)}"
    return sql, fields, returning


_UPDATES: dict[tuple, tuple] = {}


def update(obj, fields: list[str]) -> None:
    """`obj.save(update_fields=fields)` for a row read from the database, with the statement's
    text made once per model and set of columns (no signals: for models that have none). An
    `auto_now` field among them takes the time now, as save() gives it."""
    model, db = type(obj), _db()
    key = (model, tuple(fields), db.vendor)
    plan = _UPDATES.get(key)
    if plan is None:
        plan = _UPDATES[key] = _update_plan(db, model, fields)
    sql, targets, pk = plan
    params = [field.get_db_prep_save(field.pre_save(obj, False), db) for field in targets]
    params.append(pk.get_db_prep_value(obj.pk, db))
    with cursor(db) as cur:
        cur.execute(sql, params)
        if cur.rowcount != 1:
            raise model.DoesNotExist(f"{model._meta.object_name} {obj.pk} was not there to update.")


def _update_plan(db, model, fields: list[str]) -> tuple:
    opts, quote = model._meta, db.ops.quote_name
    targets = [opts.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in targets)
    sql = f"UPDATE {quote(opts.db_table)} SET {assignments} WHERE {quote(opts.pk.column)} = %s"  # noqa: S608 - values are parameters
    return sql, targets, opts.pk
