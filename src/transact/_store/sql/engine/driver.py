"""Small helpers over driver connections and cursors, for ``Backend``'s raw paths."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from transact._store.sql.engine.compiled import RawStatement

__all__ = ["fetch_all", "rolled_back", "rowcount", "wrap_error"]


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
