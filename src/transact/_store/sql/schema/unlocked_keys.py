"""Postgres: the foreign keys from a workflow's rows to ``workflow_status`` that were
dropped (migrations 5, 14 and 15), because checking one locked the workflow's row on
every write. SQLite keeps them: its check takes no lock."""

from __future__ import annotations

from sqlalchemy import Connection

from transact._store.sql.schema.tables import POSTGRES_SCHEMA

__all__ = [
    "CHECKPOINT_FOREIGN_KEY",
    "EVENT_FOREIGN_KEYS",
    "STREAM_FOREIGN_KEY",
    "unlocked_checkpoints",
    "unlocked_events",
    "unlocked_streams",
]

CHECKPOINT_FOREIGN_KEY = "fk_operation_outputs_workflow"


def unlocked_checkpoints(conn: Connection) -> None:
    # Postgres checks a foreign key with SELECT ... FOR KEY SHARE on the parent row: every
    # step locked its workflow's row, a WAL record and a dirtied page per step (15-20% of
    # a step). The checkpoint insert's own guard already proves, in the same statement,
    # that the workflow exists and is PENDING; deleting a workflow deletes its
    # checkpoints explicitly, and inserting a workflow clears any a step left behind
    # while a workflow of the same id was being deleted (``workflows.py``). SQLite keeps
    # the key: its check takes no lock, and its single writer leaves no such race.
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"ALTER TABLE {POSTGRES_SCHEMA}.operation_outputs "
            f"DROP CONSTRAINT IF EXISTS {CHECKPOINT_FOREIGN_KEY}"
        )


STREAM_FOREIGN_KEY = "fk_streams_workflow"


def unlocked_streams(conn: Connection) -> None:
    # As migration 5 for checkpoints: checking the key locked the workflow's row on every
    # stream write (half the statement's time). A write in workflow code is guarded by
    # its checkpoint's PENDING check, one in a step by a read of the workflow's key;
    # deleting a workflow deletes its values explicitly, and inserting one clears any
    # value left under its id by a write that raced a delete (``workflows.py``).
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"ALTER TABLE {POSTGRES_SCHEMA}.streams DROP CONSTRAINT IF EXISTS {STREAM_FOREIGN_KEY}"
        )


EVENT_FOREIGN_KEYS = {
    "workflow_events": "fk_workflow_events_workflow",
    "workflow_events_history": "fk_workflow_events_history_workflow",
}


def unlocked_events(conn: Connection) -> None:
    # As migrations 5 and 14: checking the keys locked the workflow's row on every
    # set_event (its latest value and its history entry). A write in workflow code is
    # guarded by its checkpoint's PENDING check, one in a step by a read of the
    # workflow's key (``events.py``); deleting a workflow deletes its events explicitly,
    # and inserting one clears any left under its id by a write that raced a delete.
    if conn.dialect.name == "postgresql":
        for table, key in EVENT_FOREIGN_KEYS.items():
            conn.exec_driver_sql(
                f"ALTER TABLE {POSTGRES_SCHEMA}.{table} DROP CONSTRAINT IF EXISTS {key}"
            )
