"""SQLite: a stream write in workflow code as one statement.

A workflow's stream write inserts two rows, its checkpoint and the value. Postgres does
both in one statement (a data-modifying CTE, ``verbs/checkpointed.py``); SQLite has no
such CTE, and ran ``BEGIN IMMEDIATE``, two inserts and ``COMMIT``: four calls, against
the one of an autocommit insert. An ``INSERT`` into the view ``transact_stream_appends``
does it in one: its ``INSTEAD OF`` trigger inserts the checkpoint if the workflow is
PENDING, then the value at the stream's next offset under the same guard. A
statement is atomic with its triggers, so either both rows are written or neither; a
checkpoint already recorded at that function id fails the statement on its primary key,
as the two-statement transaction did. The view never has rows (``WHERE 0``): it exists
only to be inserted into. Measured raw (sqlite3, WAL, ``synchronous=FULL``, interleaved
runs of 300): the transaction cost 1.20x a one-row autocommit insert, the view insert
1.10x.

The insert changes no rows of its own, so its rowcount says nothing; the store reads the
value's offset afterwards (``verbs/streams.py``), which also tells whether it was
written.
"""

from __future__ import annotations

from sqlalchemy import Connection

from transact._store.sql.verbs.checkpoints import CHECKPOINT_BINDS

__all__ = ["APPEND_COLUMNS", "STREAM_APPENDS", "create_stream_appends"]

STREAM_APPENDS = "transact_stream_appends"

# The checkpoint's columns, as every checkpoint insert names them.
_CHECKPOINT_COLUMNS = tuple(column for column, _, _ in CHECKPOINT_BINDS)

_VALUE_COLUMNS = ("workflow_uuid", "key", "value", "function_id")
APPEND_COLUMNS = (
    *_VALUE_COLUMNS,
    *(column for column in _CHECKPOINT_COLUMNS if column not in _VALUE_COLUMNS),
)
"""The view's columns: the value's, then the rest of its checkpoint's."""

_VIEW = (
    f"CREATE VIEW IF NOT EXISTS {STREAM_APPENDS} AS SELECT "
    + ", ".join(f"NULL AS {name}" for name in APPEND_COLUMNS)
    + " WHERE 0"
)

# Both inserts have the same guard, which the first cannot change: if the checkpoint
# went in, so does the value; if the workflow is not PENDING, neither does (an older
# checkpoint at that function id must not let the value in).
_PENDING = (
    "(SELECT status FROM workflow_status WHERE workflow_uuid = NEW.workflow_uuid) = 'PENDING'"
)

_TRIGGER = f"""
CREATE TRIGGER IF NOT EXISTS {STREAM_APPENDS}_insert INSTEAD OF INSERT ON {STREAM_APPENDS}
BEGIN
    INSERT INTO operation_outputs ({", ".join(_CHECKPOINT_COLUMNS)})
    SELECT {", ".join(f"NEW.{name}" for name in _CHECKPOINT_COLUMNS)}
    WHERE {_PENDING};
    INSERT INTO streams (workflow_uuid, "key", "offset", value, function_id)
    SELECT NEW.workflow_uuid, NEW.key,
        (SELECT coalesce(max("offset"), -1) + 1 FROM streams
         WHERE workflow_uuid = NEW.workflow_uuid AND "key" = NEW.key),
        NEW.value, NEW.function_id
    WHERE {_PENDING};
END
"""


def create_stream_appends(conn: Connection) -> None:
    """Create the view and its trigger (SQLite only)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_VIEW)
        conn.exec_driver_sql(_TRIGGER)
