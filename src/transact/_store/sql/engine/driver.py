"""Small helpers over driver connections and cursors, for ``Backend``'s raw paths."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from transact._store.sql.engine.compiled import RawStatement

__all__ = ["execute", "fetch_all", "rolled_back", "rowcount", "wrap_error"]

_CURSOR = "transact_cursor"
"""Key of a psycopg connection's reused cursor in its pool record's ``info``."""


def execute(fairy: Any, sql: str, args: Any) -> Any:
    """Run ``sql`` with ``args`` on a pooled connection ("fairy"); return the cursor
    holding its result (read it before the connection runs anything else).

    psycopg's ``Connection.execute`` makes a new cursor, and an adapters map for it, per
    statement: 5-7 µs of the 22 µs of client CPU a short statement costs. A connection
    keeps one cursor for these calls instead (a connection serves one thread at a time),
    in the pool record's ``info``, which SQLAlchemy clears when it replaces the
    connection, so the cursor goes with it. sqlite3 makes its cursors in C, for nothing.
    """
    connection = fairy.dbapi_connection
    if isinstance(connection, sqlite3.Connection):
        return connection.execute(sql, args)
    info = fairy.info
    cursor = info.get(_CURSOR)
    if cursor is None or cursor.closed:
        cursor = info[_CURSOR] = connection.cursor()
    return cursor.execute(sql, args)


def rolled_back(fairy: Any) -> bool:
    """Roll back the connection's transaction; False if even that failed (the connection
    is then in no known state)."""
    try:
        fairy.dbapi_connection.execute("ROLLBACK")
    except Exception:
        return False
    return True


def rowcount(cursor: Any) -> int:
    """A driver cursor's rowcount."""
    return int(cursor.rowcount)


def fetch_all(cursor: Any) -> list[tuple[Any, ...]]:
    """A driver cursor's rows, as tuples."""
    rows: list[tuple[Any, ...]] = cursor.fetchall()  # both drivers return plain tuples
    return rows


def wrap_error(
    engine: Engine, exc: Exception, raw: RawStatement, args: Any, *, fairy: Any
) -> SQLAlchemyError:
    """The SQLAlchemy exception ``exc`` would have been, invalidating a dead connection."""
    dialect = engine.dialect
    dbapi_conn = None if fairy is None else fairy.dbapi_connection
    disconnect = dialect.is_disconnect(exc, dbapi_conn, None)  # type: ignore[arg-type]
    if disconnect and fairy is not None:
        # As SQLAlchemy's own execution does: one dead connection (a server restart)
        # means the pool's older connections are dead too; recycle them all.
        engine.pool._invalidate(fairy, exc)
    wrapped = DBAPIError.instance(
        raw.sql,
        args,
        exc,
        engine.dialect.loaded_dbapi.Error,
        connection_invalidated=disconnect,
        dialect=dialect,
    )
    return wrapped
