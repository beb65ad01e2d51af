"""Postgres: a fork or an import onto an id that has orphans (checkpoints, events, event
history or stream values left under an id no workflow has, by a write that committed
while its workflow was being deleted) does not see them nor collide with them.

Postgres keeps no foreign key from those tables to ``workflow_status`` (migrations 5,
14 and 15), so such rows can outlive their workflow; ``insert_workflow`` deletes them
in its insert (``test_migration_unlocked_events.py``), and a fork and an import delete
them in their transaction (``verbs/orphans.py``). SQLite keeps its keys, with ON DELETE
CASCADE, so it cannot have orphans. The orphans are planted directly with psycopg.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

import psycopg
import pytest
from psycopg import sql

from tests._pg import libpq_url
from tests.store.test_sql_specific import _open, fresh_pg_database
from tests.store.test_store_conformance import ENQUEUED, add, wf
from tests.store.test_store_exports import populate
from transact._store.exports import ExportedWorkflow
from transact._store.sql.engine.backend import IDS_PER_STATEMENT
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.store import SQLStore
from transact._store.sql.verbs.orphans import delete_orphans
from transact.errors import DBOSConflictingWorkflowError

__all__ = ["fresh_pg_database"]  # a fixture, for pytest

pytestmark = [pytest.mark.timeout(120), pytest.mark.postgres]

_TABLES = ("operation_outputs", "workflow_events", "workflow_events_history", "streams")

# Orphans whose keys no copied or imported row has: without the cleanup they would be
# read as the new workflow's own rows.
_APART: dict[str, dict[str, Any]] = {
    "operation_outputs": {"function_id": 9, "function_name": "stale", "output": '"old"'},
    "workflow_events": {"key": "zz", "value": '"old"'},
    "workflow_events_history": {"function_id": 9, "key": "yy", "value": '"old"'},
    "streams": {"key": "zz", "offset": 0, "value": '"old"', "function_id": 1},
}
# Orphans on the very keys of copied or imported rows: without the cleanup the insert
# would collide with them.
_CLASHING: dict[str, dict[str, Any]] = {
    "operation_outputs": {"function_id": 1, "function_name": "stale", "output": '"old"'},
    "workflow_events": {"key": "k", "value": '"old"'},
    "workflow_events_history": {"function_id": 2, "key": "k", "value": '"old"'},
    "streams": {"key": "s", "offset": 0, "value": '"old"', "function_id": 1},
}
ORPHANS = {"apart": _APART, "clashing": _CLASHING}


@pytest.fixture
def store(fresh_pg_database: str) -> Iterator[SQLStore]:
    """A migrated Postgres store on a fresh database."""
    opened = _open(fresh_pg_database)
    opened.migrate()
    yield opened
    opened.close()


def plant_orphans(store: SQLStore, workflow_id: str, rows: dict[str, dict[str, Any]]) -> None:
    """Insert one row per table under ``workflow_id``, which must name no workflow."""
    assert store.get_workflow(workflow_id) is None
    with _connect(store) as conn:
        for table, values in rows.items():
            columns = {"workflow_uuid": workflow_id, **values}
            conn.execute(
                sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    sql.Identifier(POSTGRES_SCHEMA, table),
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                ),
                list(columns.values()),
            )
    assert counts(store, workflow_id) == dict.fromkeys(_TABLES, 1)


def counts(store: SQLStore, workflow_id: str) -> dict[str, int]:
    """How many rows each orphan-prone table holds under ``workflow_id``."""
    found: dict[str, int] = {}
    with _connect(store) as conn:
        for table in _TABLES:
            query = sql.SQL("SELECT count(*) FROM {} WHERE workflow_uuid = %s")
            row = conn.execute(
                query.format(sql.Identifier(POSTGRES_SCHEMA, table)), (workflow_id,)
            ).fetchone()
            assert row is not None
            found[table] = int(row[0])
    return found


def _connect(store: SQLStore) -> psycopg.Connection[Any]:
    """A psycopg connection of its own to the store's database."""
    url = store.backend.engine.url.render_as_string(hide_password=False)
    return psycopg.connect(libpq_url(url))


def _table(exported: ExportedWorkflow, table: str) -> list[dict[str, Any]]:
    """The rows of ``table`` in ``exported``."""
    rows: list[dict[str, Any]] = cast("Mapping[str, Any]", exported)[table]
    return rows


def _rows_of(exported: ExportedWorkflow) -> dict[str, list[dict[str, Any]]]:
    """An export's rows but its status, each without its workflow id."""
    return {
        table: [
            {k: v for k, v in r.items() if k != "workflow_uuid"} for r in _table(exported, table)
        ]
        for table in _TABLES
    }


def _copied_below(original: ExportedWorkflow, start_step: int) -> dict[str, list[dict[str, Any]]]:
    """What a fork at ``start_step`` copies of ``original``: the rows below it, and the
    events rebuilt from the copied history (the latest entry per key)."""
    rows = _rows_of(original)
    below = {
        table: [r for r in rows[table] if r["function_id"] < start_step]
        for table in ("operation_outputs", "workflow_events_history", "streams")
    }
    latest: dict[str, str] = {}
    for entry in sorted(below["workflow_events_history"], key=lambda e: e["function_id"]):
        latest[entry["key"]] = entry["value"]
    events = [{"key": k, "value": latest[k]} for k in sorted(latest)]
    return {**below, "workflow_events": events}


@pytest.mark.parametrize("kind", sorted(ORPHANS))
def test_a_fork_onto_an_id_with_orphans_has_only_the_copied_rows(
    store: SQLStore, kind: str
) -> None:
    populate(store, "orig")
    [original] = store.export_workflows(["orig"])
    plant_orphans(store, "reused", ORPHANS[kind])

    new = wf("reused", ENQUEUED, queue_name="internal", forked_from="orig", created_at=5000)
    store.fork_workflow("orig", new, start_step=5)

    [forked] = store.export_workflows(["reused"])
    expected = _copied_below(original, 5)
    assert _rows_of(forked) == expected
    # The copy is not empty in any table, so each table's cleanup is put to the test.
    assert all(expected[table] for table in _TABLES)
    assert store.get_all_events("reused") == {"k": '"v2"', "a": "1"}
    assert [c.function_id for c in store.load_checkpoints("reused")] == [1, 2, 3]
    assert _rows_of(store.export_workflows(["orig"])[0]) == _rows_of(original)  # untouched


def test_a_fork_onto_a_taken_id_keeps_that_workflows_rows(store: SQLStore) -> None:
    """The cleanup deletes only rows no workflow has: a fork onto an existing workflow's
    id is refused and leaves that workflow's rows as they were."""
    populate(store, "orig")
    populate(store, "taken")
    before = store.export_workflows(["taken"])
    new = wf("taken", ENQUEUED, queue_name="internal", forked_from="orig", created_at=5000)
    with pytest.raises(DBOSConflictingWorkflowError):
        store.fork_workflow("orig", new, start_step=5)
    assert store.export_workflows(["taken"]) == before


@pytest.mark.parametrize("kind", sorted(ORPHANS))
def test_an_import_onto_an_id_with_orphans_has_only_the_imported_rows(
    store: SQLStore, kind: str
) -> None:
    populate(store, "exp")
    exported = store.export_workflows(["exp"])
    store.delete_workflows(["exp"])
    plant_orphans(store, "exp", ORPHANS[kind])

    store.import_workflows(exported)

    assert store.export_workflows(["exp"]) == exported
    assert all(_table(exported[0], table) for table in _TABLES)


def test_an_import_of_several_chunks_deletes_the_orphans_of_each(store: SQLStore) -> None:
    """Orphans under ids in the first and the last chunk of a large import are deleted;
    an existing workflow's rows are not (its id is not imported)."""
    populate(store, "template")
    populate(store, "bystander")
    bystander = store.export_workflows(["bystander"])
    [template] = store.export_workflows(["template"])
    store.delete_workflows(["template"])
    ids = [f"bulk-{i:04d}" for i in range(IDS_PER_STATEMENT + 2)]
    exported = [_renamed(template, i) for i in ids]
    for workflow_id in (ids[0], ids[-1]):
        plant_orphans(store, workflow_id, _APART)

    store.import_workflows(exported)

    assert store.export_workflows([ids[0], ids[-1]]) == [exported[0], exported[-1]]
    assert store.export_workflows(["bystander"]) == bystander


def _renamed(exported: ExportedWorkflow, workflow_id: str) -> ExportedWorkflow:
    """``exported`` under another id."""
    status = {**exported["workflow_status"], "workflow_uuid": workflow_id}
    tables = {
        table: [{**r, "workflow_uuid": workflow_id} for r in _table(exported, table)]
        for table in _TABLES
    }
    return cast(ExportedWorkflow, {"workflow_status": status, **tables})


def test_the_orphans_deleted_are_only_the_ids_given(store: SQLStore) -> None:
    """A fork deletes the orphans of its own id only: another id's stay (for its own
    insert to delete)."""
    populate(store, "orig")
    plant_orphans(store, "elsewhere", _APART)
    new = wf("reused", ENQUEUED, queue_name="internal", forked_from="orig", created_at=5000)
    store.fork_workflow("orig", new, start_step=5)
    assert counts(store, "elsewhere") == dict.fromkeys(_TABLES, 1)
    add(store, wf("elsewhere"))  # and the plain insert deletes them
    assert counts(store, "elsewhere") == dict.fromkeys(_TABLES, 0)


def test_delete_orphans_keeps_the_rows_of_workflows(store: SQLStore) -> None:
    """The shared cleanup, on a list of ids: an id that is a workflow keeps its rows (the
    guard that lets it run before any insert), an id that is none loses them."""
    populate(store, "alive")
    before = store.export_workflows(["alive"])
    plant_orphans(store, "dead", _APART)
    with store.backend.engine.begin() as conn:
        delete_orphans(conn, ["alive", "dead", "never", "dead"])
    assert store.export_workflows(["alive"]) == before
    assert counts(store, "dead") == dict.fromkeys(_TABLES, 0)
