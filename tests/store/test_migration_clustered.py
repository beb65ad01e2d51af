"""Migration 13 (SQLite): checkpoints, streams and events move into their primary key
(``WITHOUT ROWID``), keeping their rows, the change log's trigger on streams and the
cascade from ``workflow_status``; on Postgres it changes nothing."""

from __future__ import annotations

from sqlalchemy import Connection

from tests.store.test_sql_specific import (
    _open,
    _recorded_versions,
    fresh_pg_database,
    sql_url,
    sqlite_url,
    wf,
)
from transact._core.checkpoint import Checkpoint
from transact._store.sql.schema.clustered import CLUSTERED_TABLES
from transact._store.sql.schema.migrations import LATEST_VERSION
from transact._store.sql.schema.tables import migrations_table
from transact._store.sql.store import SQLStore

__all__ = ["fresh_pg_database", "sql_url", "sqlite_url"]  # fixtures, for pytest


def _table_sql(conn: Connection, name: str) -> str:
    return str(
        conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).scalar()
    )


def _unclustered(store: SQLStore) -> None:
    """Back to version 12 on SQLite: each table with a rowid again, rows kept."""
    with store.backend.engine.begin() as conn:
        # Migration 16's view and trigger came after 13 (dropping the view drops both).
        conn.exec_driver_sql("DROP VIEW transact_stream_appends")
        conn.execute(migrations_table.delete().where(migrations_table.c.version == 16))
        for table in CLUSTERED_TABLES:
            ddl = _table_sql(conn, table.name).replace("WITHOUT ROWID", "")
            conn.exec_driver_sql(f"ALTER TABLE {table.name} RENAME TO old_{table.name}")
            conn.exec_driver_sql(ddl)
            conn.exec_driver_sql(f"INSERT INTO {table.name} SELECT * FROM old_{table.name}")
            conn.exec_driver_sql(f"DROP TABLE old_{table.name}")
            assert "WITHOUT ROWID" not in _table_sql(conn, table.name).upper()
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS changes_stream")
        conn.exec_driver_sql(
            "CREATE TRIGGER changes_stream AFTER INSERT ON streams BEGIN INSERT INTO "
            "transact_changes (key) VALUES ('stream:' || NEW.workflow_uuid || '::' || NEW.key);"
            " END"
        )
        conn.execute(migrations_table.delete().where(migrations_table.c.version == 13))


def _changes(store: SQLStore) -> list[str]:
    with store.backend.engine.connect() as conn:
        return [str(row[0]) for row in conn.exec_driver_sql("SELECT key FROM transact_changes")]


def test_migration_13_stores_the_hot_tables_in_their_key(sql_url: str) -> None:
    sqlite = sql_url.startswith("sqlite")
    store = _open(sql_url)
    store.migrate()
    store.insert_workflow(wf("old"))
    store.record_checkpoint("old", Checkpoint(1, "step", output="out"))
    store.write_stream("old", "s", "v0", 2, Checkpoint(2, "DBOS.writeStream"))
    store.set_event("old", "k", "e1", 3, Checkpoint(3, "DBOS.setEvent"))
    if sqlite:
        _unclustered(store)
    store.close()

    store = _open(sql_url)
    try:
        store.migrate()
        assert _recorded_versions(store)[-1] == LATEST_VERSION
        assert 13 in _recorded_versions(store)
        if sqlite:
            with store.backend.engine.connect() as conn:
                for table in CLUSTERED_TABLES:
                    assert "WITHOUT ROWID" in _table_sql(conn, table.name).upper()
        # The rows are all there, and the tables take new ones.
        assert [c.function_id for c in store.load_checkpoints("old")] == [1, 2, 3]
        assert store.get_event("old", "k") == "e1"
        assert store.write_stream("old", "s", "v1", 4, Checkpoint(4, "DBOS.writeStream")) == 1
        read = store.read_stream("old", "s", 0, limit=10)
        assert (read.value, read.following) == ("v0", ("v1",))
        if sqlite:  # the change log's trigger on streams came back with the table
            assert "stream:old::s" in _changes(store)
        store.migrate()  # idempotent
        # The cascade from workflow_status still reaches every rebuilt table.
        store.delete_workflows(["old"])
        assert store.load_checkpoints("old") == [] and store.get_all_events("old") == {}
        assert store.read_stream("old", "s", 0).value is None
    finally:
        store.close()
