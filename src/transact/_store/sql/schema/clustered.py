"""SQLite: the tables written on every operation, stored in their primary key.

A SQLite table with a primary key that is not an integer keeps each row twice: once in
the table's rowid b-tree and once in the key's index. Every checkpoint, stream value and
event therefore dirtied two pages, and on SQLite a commit's cost grows with the pages it
appends to the write-ahead log. Declared ``WITHOUT ROWID`` (``sqlite_with_rowid=False``
in ``tables.py``), the row lives in the key's b-tree only: one page per table per write
(a step's checkpoint and a stream write each append about 4 KB less to the log), and
reads by key, which is how all of these tables are read, find the row where the key is.

A database made by this build has them already (migration 1 creates the tables from
``metadata``); :func:`cluster_by_key` (migration 13) rebuilds those of an older one.
Postgres has no rowid b-tree (a heap and the key's index), so nothing changes there.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table
from sqlalchemy.schema import CreateTable

from transact._store.sql.schema.change_log import SQLITE_CHANGE_LOG
from transact._store.sql.schema.tables import (
    operation_outputs,
    streams,
    workflow_events,
    workflow_events_history,
)

__all__ = ["CLUSTERED_TABLES", "cluster_by_key"]

CLUSTERED_TABLES: tuple[Table, ...] = (
    operation_outputs,
    streams,
    workflow_events,
    workflow_events_history,
)
"""The tables declared ``WITHOUT ROWID`` on SQLite."""


def cluster_by_key(conn: Connection) -> None:
    """Rebuild each of :data:`CLUSTERED_TABLES` that still has a rowid, keeping its rows.

    SQLite cannot change a table's storage in place, so each is copied into a new table
    of the current definition, dropped, and the copy renamed (SQLite's documented
    procedure), in the migrating transaction: a failure leaves the old tables as they
    were. Dropping ``streams`` drops the change log's trigger on it, so the change log's
    triggers are created again (each ``IF NOT EXISTS``).
    """
    if conn.dialect.name != "sqlite":
        return
    rebuilt = False
    for table in CLUSTERED_TABLES:
        found = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,)
        ).scalar()
        if found is None or "WITHOUT ROWID" in str(found).upper():
            continue
        _rebuild(conn, table)
        rebuilt = True
    if rebuilt:
        for statement in SQLITE_CHANGE_LOG:
            conn.exec_driver_sql(statement)


def _rebuild(conn: Connection, table: Table) -> None:
    copy = f"{table.name}__clustered"
    ddl = str(CreateTable(table).compile(dialect=conn.dialect)).strip()
    head = f"CREATE TABLE {table.name} ("
    if not ddl.startswith(head):  # a quoted name would need more than this
        raise RuntimeError(f"unexpected DDL for {table.name}: {ddl[:80]!r}")
    conn.exec_driver_sql(f"CREATE TABLE {copy} (" + ddl[len(head) :])
    columns = ", ".join(f'"{column.name}"' for column in table.columns)
    conn.exec_driver_sql(f"INSERT INTO {copy} ({columns}) SELECT {columns} FROM {table.name}")
    conn.exec_driver_sql(f"DROP TABLE {table.name}")
    conn.exec_driver_sql(f"ALTER TABLE {copy} RENAME TO {table.name}")
