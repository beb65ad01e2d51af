"""Postgres: the rows left under a workflow id that no workflow has ("orphans").

Postgres keeps no foreign key from checkpoints, stream values and events to
``workflow_status`` (migrations 5, 14 and 15: checking it locked the workflow's row on
every write). A write that commits while its workflow is being deleted therefore
leaves its row behind, under an id no workflow has. Every verb that inserts a
workflow row on Postgres deletes those rows first, in its own transaction, so that a
new workflow reusing the id neither sees them nor collides with them: the insert of
``insert_workflow`` (one statement, its deletes as data-modifying CTEs), a fork and an
import. SQLite keeps the keys, with ON DELETE CASCADE, so it has no orphans.

This module holds the one definition of those deletes that all three share.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, TextClause, text

from transact._store.sql.engine.backend import chunked
from transact._store.sql.schema.tables import (
    POSTGRES_SCHEMA,
    operation_outputs,
    streams,
    workflow_events,
    workflow_events_history,
)
from transact._store.sql.verbs.id_lists import ID_ARRAY

__all__ = ["UNCASCADED", "delete_orphans", "orphan_deletes"]

UNCASCADED = (operation_outputs, streams, workflow_events_history, workflow_events)
"""The tables Postgres keeps no foreign key from: deleting a workflow deletes their rows
explicitly (``maintenance.delete_workflows``), inserting one deletes their orphans."""


def orphan_deletes(workflow_id: str, using: str = "") -> list[str]:
    """One ``DELETE`` per table of :data:`UNCASCADED`: its rows under ``workflow_id``
    when no workflow has that id.

    ``workflow_id`` is the SQL naming the id: a bind parameter (``:workflow_uuid``), or a
    column of ``using``, a ``FROM`` item joined to the table (``unnest(...) AS ids(id)``
    for a list of ids). The workflow check names the id, not the deleted row: Postgres
    settles it first, from the workflow table's key, and reads the table only for an id
    no workflow has. Correlated with the row instead, it would read every checkpoint and
    stream value of an existing workflow each time ``insert_workflow`` attaches to it."""
    schema = POSTGRES_SCHEMA
    return [
        f"DELETE FROM {schema}.{table.name}{using} WHERE workflow_uuid = {workflow_id}"
        f" AND NOT EXISTS (SELECT 1 FROM {schema}.workflow_status"
        f" WHERE workflow_uuid = {workflow_id})"
        for table in UNCASCADED
    ]


# A chunk's ids bind as one array (``id_lists.py``), joined as a set of rows: each
# delete's workflow check then names the id, as ``orphan_deletes`` wants.
_ORPHANS_OF_IDS: list[TextClause] = [
    text(sql).bindparams(ID_ARRAY)
    for sql in orphan_deletes("ids.id", using=" USING unnest(CAST(:ids AS text[])) AS ids(id)")
]


def delete_orphans(conn: Connection, workflow_ids: Sequence[str]) -> None:
    """Postgres: delete the orphans of ``workflow_ids`` on ``conn``, in its transaction,
    before the caller inserts workflows of those ids (ids that are workflows keep their
    rows). Four statements per ``IDS_PER_STATEMENT`` ids."""
    for chunk in chunked(list(dict.fromkeys(workflow_ids))):
        for stmt in _ORPHANS_OF_IDS:
            conn.execute(stmt, {"ids": list(chunk)})
