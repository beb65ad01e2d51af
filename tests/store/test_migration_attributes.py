"""Migration 7 upgrades a database made before it (version 6): the workflow attributes
and application name columns and the application_versions table appear, and the data
already there is kept."""

from __future__ import annotations

from tests.store.test_sql_specific import (
    _open,
    _recorded_versions,
    fresh_pg_database,
    sql_url,
    sqlite_url,
    wf,
)
from transact._store.records import WorkflowQuery
from transact._store.sql.schema.migrations import LATEST_VERSION

__all__ = ["fresh_pg_database", "sql_url", "sqlite_url"]  # fixtures, for pytest


def test_migration_7_upgrades_a_version_6_database(sql_url: str) -> None:
    store = _open(sql_url)
    store.migrate()
    store.insert_workflow(wf("old"))
    postgres = sql_url.startswith("postgres")
    schema = "transact." if postgres else ""
    # Back to version 6: what a database made by the previous build looks like.
    with store.backend.engine.begin() as conn:
        for column in ("attributes", "application_name"):
            conn.exec_driver_sql(f"ALTER TABLE {schema}workflow_status DROP COLUMN {column}")
        conn.exec_driver_sql(f"DROP TABLE {schema}application_versions")
        conn.exec_driver_sql(f"DELETE FROM {schema}transact_migrations WHERE version >= 7")
    store.close()

    upgraded = _open(sql_url)
    try:
        upgraded.migrate()
        assert _recorded_versions(upgraded)[-1] == LATEST_VERSION
        assert 7 in _recorded_versions(upgraded)
        old = upgraded.get_workflow("old")
        assert old is not None and old.attributes is None
        upgraded.insert_workflow(wf("new", attributes='{"a": 1}', application_name="shop"))
        found = upgraded.list_workflows(WorkflowQuery(attributes='{"a": 1}'))
        assert [r.workflow_id for r in found] == ["new"]
        upgraded.register_application_version("v1", None, 5)
        assert [v.version_name for v in upgraded.list_application_versions(None)] == ["v1"]
        upgraded.migrate()  # idempotent
    finally:
        upgraded.close()
