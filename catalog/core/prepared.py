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
