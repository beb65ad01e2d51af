"""Migration 15 (Postgres): events and their history lose their foreign key to
``workflow_status``, whose check locked the workflow's row on every ``set_event``.

What the key guarded is kept another way, as for checkpoints (migration 5) and stream
values (migration 14): a write checks that its workflow exists (or is PENDING) itself,
deleting a workflow deletes its events explicitly, and inserting a workflow clears any
left under its id by a write that committed while a workflow of that id was deleted.
SQLite keeps its keys (their check takes no lock).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Connection, text

from tests.store.test_sql_specific import (
    _open,
    _recorded_versions,
    fresh_pg_database,
    sql_url,
    sqlite_url,
    wf,
)
from transact._core.checkpoint import Checkpoint
from transact._facade.admin.maintenance import garbage_collect
from transact._store.sql.schema.migrations import LATEST_VERSION
from transact._store.sql.schema.tables import POSTGRES_SCHEMA, migrations_table
from transact._store.sql.schema.unlocked_keys import EVENT_FOREIGN_KEYS
from transact._store.sql.store import SQLStore
from transact.errors import DBOSNonExistentWorkflowError

__all__ = ["fresh_pg_database", "sql_url", "sqlite_url"]  # fixtures, for pytest

pytestmark = pytest.mark.timeout(120)

_EVENT_TABLES = tuple(EVENT_FOREIGN_KEYS)


def _event_keys(conn: Connection) -> set[str]:
    """The names of the foreign keys of the event tables, on either database."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT conname FROM pg_constraint WHERE contype = 'f'"
                " AND conrelid::regclass::text = ANY(:tables)"
            ),
            {"tables": [f"{POSTGRES_SCHEMA}.{t}" for t in _EVENT_TABLES]},
        )
        return {str(row[0]) for row in rows}
    found = set()
    for table in _EVENT_TABLES:
        for row in conn.exec_driver_sql(f"PRAGMA foreign_key_list({table})"):
            found.add(f"{table}->{row[2]}")  # SQLite's keys have no names
    return found


def _rows(store: SQLStore, workflow_id: str) -> dict[str, int]:
    """How many rows each event table holds for ``workflow_id``."""
    schema = f"{POSTGRES_SCHEMA}." if store.backend.dialect_name == "postgresql" else ""
    with store.backend.engine.connect() as conn:
        return {
            table: int(
                conn.execute(
                    text(f"SELECT count(*) FROM {schema}{table} WHERE workflow_uuid = :wf"),
                    {"wf": workflow_id},
                ).scalar_one()
            )
            for table in _EVENT_TABLES
        }


def _back_to_14(store: SQLStore) -> None:
    """Postgres: the event tables' keys as migration 1 made them, and 15 unrecorded."""
    with store.backend.engine.begin() as conn:
        for table, key in EVENT_FOREIGN_KEYS.items():
            conn.exec_driver_sql(
                f"ALTER TABLE {POSTGRES_SCHEMA}.{table} ADD CONSTRAINT {key} FOREIGN KEY"
                f" (workflow_uuid) REFERENCES {POSTGRES_SCHEMA}.workflow_status (workflow_uuid)"
                " ON DELETE CASCADE ON UPDATE CASCADE"
            )
        conn.execute(migrations_table.delete().where(migrations_table.c.version == 15))
        assert _event_keys(conn) == set(EVENT_FOREIGN_KEYS.values())


def test_migration_15_drops_the_event_keys_on_postgres_only(sql_url: str) -> None:
    postgres = sql_url.startswith("postgres")
    store = _open(sql_url)
    store.migrate()
    with store.backend.engine.connect() as conn:
        fresh = _event_keys(conn)
    # A new database has none on Postgres (migration 1 makes them, 15 drops them).
    assert fresh == (set() if postgres else {f"{t}->workflow_status" for t in _EVENT_TABLES})
    store.insert_workflow(wf("old"))
    store.set_event("old", "k", "e1", 1, Checkpoint(1, "DBOS.setEvent"))
    if postgres:
        _back_to_14(store)
    store.close()

    store = _open(sql_url)
    try:
        store.migrate()
        assert _recorded_versions(store)[-1] == LATEST_VERSION
        assert 15 in _recorded_versions(store)
        with store.backend.engine.connect() as conn:
            assert _event_keys(conn) == fresh
        store.migrate()  # idempotent
        assert store.get_all_events("old") == {"k": "e1"}  # the rows are kept
        store.set_event("old", "k", "e2", 2, Checkpoint(2, "DBOS.setEvent"))
        store.set_event("old", "j", "s", 2, None)  # as a step's set_event
        assert store.get_all_events("old") == {"k": "e2", "j": "s"}
        # A write for a missing workflow is still refused, in workflow code or in a step.
        with pytest.raises(DBOSNonExistentWorkflowError):
            store.set_event("nope", "k", "v", 1, None)
        with pytest.raises(DBOSNonExistentWorkflowError):
            store.set_event("nope", "k", "v", 1, Checkpoint(1, "DBOS.setEvent"))
        assert _rows(store, "nope") == dict.fromkeys(_EVENT_TABLES, 0)
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_events_written_while_a_workflow_is_deleted_do_not_reach_a_new_one(
    fresh_pg_database: str,
) -> None:
    """A set_event that commits while ``delete_workflows`` of its workflow is under way
    is not blocked (no key, so no row lock) and leaves its rows behind; a new workflow
    of that id does not see them."""
    store = _open(fresh_pg_database)
    store.migrate()
    try:
        store.insert_workflow(wf("w"))
        store.set_event("w", "k", "old", 1, Checkpoint(1, "DBOS.setEvent"))
        failures: list[BaseException] = []

        def late_writes() -> None:
            try:  # in workflow code, then in a step; new keys, so no row of the delete's
                store.set_event("w", "late", "raced", 2, Checkpoint(2, "DBOS.setEvent"))
                store.set_event("w", "step", "raced", 3, None)
            except BaseException as exc:  # reported by the assertion below
                failures.append(exc)

        # The store's engine is in autocommit: this connection needs a real transaction.
        deleting: Any = store.backend.engine.connect()
        deleting = deleting.execution_options(isolation_level="READ COMMITTED")
        try:
            trans = deleting.begin()
            for table in (*_EVENT_TABLES, "operation_outputs", "workflow_status"):
                deleting.execute(
                    text(f"DELETE FROM {POSTGRES_SCHEMA}.{table} WHERE workflow_uuid = 'w'")
                )
            writer = threading.Thread(target=late_writes)
            writer.start()
            writer.join(timeout=10)
            assert not writer.is_alive(), "the write waited for the deleting transaction"
            trans.commit()
        finally:
            deleting.close()
        assert failures == []
        # What the raced writes left: rows under an id no workflow has.
        assert store.get_all_events("w") == {"late": "raced", "step": "raced"}
        assert _rows(store, "w") == {"workflow_events": 2, "workflow_events_history": 2}

        assert store.insert_workflow(wf("w"))[1] is True
        assert store.get_all_events("w") == {}  # the new workflow does not see them
        assert _rows(store, "w") == {"workflow_events": 0, "workflow_events_history": 0}
        assert store.load_checkpoints("w") == []
        store.set_event("w", "k", "new", 1, Checkpoint(1, "DBOS.setEvent"))
        assert store.insert_workflow(wf("w"))[1] is False  # attaching keeps them
        assert store.get_all_events("w") == {"k": "new"}
    finally:
        store.close()


def test_deleting_and_collecting_workflows_deletes_their_events(sql_url: str) -> None:
    """Without a cascade on Postgres, ``delete_workflows`` (and garbage collection, which
    calls it) deletes event rows explicitly; other workflows keep theirs."""
    store = _open(sql_url)
    store.migrate()
    try:
        for workflow_id, created in (("gone", 1000), ("collected", 1001), ("kept", 5000)):
            store.insert_workflow(wf(workflow_id, "SUCCESS", created_at=created))
            store.set_event(workflow_id, "k", "v", 1, None)
            store.set_event(workflow_id, "k", "v2", 2, None)
        store.delete_workflows(["gone"])
        assert _rows(store, "gone") == dict.fromkeys(_EVENT_TABLES, 0)
        assert garbage_collect(store, 2000, None) == 1
        assert _rows(store, "collected") == dict.fromkeys(_EVENT_TABLES, 0)
        assert _rows(store, "kept") == {"workflow_events": 1, "workflow_events_history": 2}
        assert store.get_all_events("kept") == {"k": "v2"}
    finally:
        store.close()
