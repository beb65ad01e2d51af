"""The export verbs of the SQL store (see ``transact._store.exports``): a workflow's
messages and stream entries as rows, and export / import of whole workflows.

Rows go through the same helpers as the memory store's (``status_row``,
``checkpoint_row``...), so an export has the same keys and value types whichever store
wrote it (SQLite's integers for booleans become ``bool``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, Connection, Text, bindparam, insert, select

from transact._store.exports import (
    ExportedWorkflow,
    StoredNotification,
    StoredStreamValue,
    checkpoint_of,
    checkpoint_row,
    record_of,
    status_row,
)
from transact._store.records import WorkflowRecord
from transact._store.sql.engine.backend import Backend, Mode, chunked
from transact._store.sql.engine.errors import OnError
from transact._store.sql.schema.tables import (
    NULL_TOPIC,
    notifications,
    operation_outputs,
    streams,
    workflow_events,
    workflow_events_history,
    workflow_status,
)
from transact._store.sql.verbs.orphans import delete_orphans
from transact.errors import DBOSConflictingWorkflowError, DBOSQueueDeduplicatedError

__all__ = ["ExportVerbs"]

_WF = bindparam("wf", type_=Text)
_n, _st, _oo = notifications.c, streams.c, operation_outputs.c
_ev, _eh, _ws = workflow_events.c, workflow_events_history.c, workflow_status.c

# ``seq`` is the send order across topics (the timestamp ties within a millisecond).
_MESSAGES = (
    select(_n.topic, _n.message, _n.created_at_epoch_ms, _n.consumed)
    .where(_n.destination_uuid == _WF)
    .order_by(_n.seq)
)
_STREAM_ROWS = (
    select(_st.workflow_uuid, _st.key, _st.offset, _st.value, _st.function_id)
    .where(_st.workflow_uuid == _WF)
    .order_by(_st.key, _st.offset)
)
# The export reads: each for a chunk of ids, ordered by workflow first so that one pass
# groups the rows (``_export_chunk``).
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_STATUS = select(workflow_status).where(_ws.workflow_uuid.in_(_IDS))
_CHECKPOINTS = (
    select(operation_outputs)
    .where(_oo.workflow_uuid.in_(_IDS))
    .order_by(_oo.workflow_uuid, _oo.function_id)
)
_EVENTS = (
    select(_ev.workflow_uuid, _ev.key, _ev.value)
    .where(_ev.workflow_uuid.in_(_IDS))
    .order_by(_ev.workflow_uuid, _ev.key)
)
_HISTORY = (
    select(_eh.workflow_uuid, _eh.function_id, _eh.key, _eh.value)
    .where(_eh.workflow_uuid.in_(_IDS))
    .order_by(_eh.workflow_uuid, _eh.function_id, _eh.key)
)
_STREAMS = (
    select(_st.workflow_uuid, _st.key, _st.offset, _st.value, _st.function_id)
    .where(_st.workflow_uuid.in_(_IDS))
    .order_by(_st.workflow_uuid, _st.key, _st.offset)
)
_EXISTING = select(_ws.workflow_uuid).where(_ws.workflow_uuid.in_(_IDS))
_HELD = select(_ws.deduplication_id).where(
    _ws.queue_name == bindparam("queue"),
    _ws.deduplication_id.in_(_IDS),
)


def _stream_row(row: Any) -> dict[str, Any]:
    return {
        "workflow_uuid": row["workflow_uuid"],
        "key": row["key"],
        "offset": int(row["offset"]),
        "value": row["value"],
        "function_id": int(row["function_id"]),
    }


def _grouped(rows: Any) -> dict[str, list[Any]]:
    """Rows (mappings with a ``workflow_uuid``) by workflow, each list in query order."""
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row["workflow_uuid"], []).append(row)
    return grouped


def _export_chunk(conn: Connection, workflow_ids: Sequence[str]) -> list[ExportedWorkflow]:
    """The export of each known id of ``workflow_ids``, in their order: five queries for
    the whole chunk rather than five per workflow."""
    params = {"ids": list(dict.fromkeys(workflow_ids))}
    statuses = {row["workflow_uuid"]: row for row in conn.execute(_STATUS, params).mappings()}
    if not statuses:
        return []
    checkpoints = _grouped(conn.execute(_CHECKPOINTS, params).mappings())
    events = _grouped(conn.execute(_EVENTS, params).mappings())
    history = _grouped(conn.execute(_HISTORY, params).mappings())
    values = _grouped(conn.execute(_STREAMS, params).mappings())
    return [
        ExportedWorkflow(
            workflow_status=status_row(record_of(dict(statuses[workflow_id]))),
            operation_outputs=[
                checkpoint_row(workflow_id, checkpoint_of(dict(row)))
                for row in checkpoints.get(workflow_id, ())
            ],
            workflow_events=[dict(row) for row in events.get(workflow_id, ())],
            workflow_events_history=[
                {**row, "function_id": int(row["function_id"])}
                for row in history.get(workflow_id, ())
            ],
            streams=[_stream_row(row) for row in values.get(workflow_id, ())],
        )
        for workflow_id in workflow_ids
        if workflow_id in statuses
    ]


def _first_repeat(ids: Sequence[str]) -> str | None:
    seen: set[str] = set()
    for workflow_id in ids:
        if workflow_id in seen:
            return workflow_id
        seen.add(workflow_id)
    return None


def _refuse_clashes(conn: Connection, records: Sequence[WorkflowRecord]) -> None:
    """Raise (the transaction then rolls back) if an id or a deduplication id is taken."""
    ids = [r.workflow_id for r in records]
    repeated = _first_repeat(ids)
    # In chunks: one IN list of every id of a large import would pass the drivers'
    # parameter limits (65,535 on Postgres).
    taken = {i for chunk in chunked(ids) for i in conn.execute(_EXISTING, {"ids": chunk}).scalars()}
    clash = repeated if repeated is not None else next((i for i in ids if i in taken), None)
    if clash is not None:
        raise DBOSConflictingWorkflowError(clash, "cannot import a workflow that already exists")
    # Deduplication ids: one query per queue and chunk, not per record.
    wanted: dict[str, list[str]] = {}
    for r in records:
        if r.queue_name is not None and r.deduplication_id is not None:
            wanted.setdefault(r.queue_name, []).append(r.deduplication_id)
    held = {
        (queue_name, dedup)
        for queue_name, dedups in wanted.items()
        for chunk in chunked(dedups)
        for dedup in conn.execute(_HELD, {"queue": queue_name, "ids": chunk}).scalars()
    }
    for r in records:
        if r.queue_name is None or r.deduplication_id is None:
            continue
        pair = (r.queue_name, r.deduplication_id)
        if pair in held:  # by a stored row, or by an earlier record of this import
            raise DBOSQueueDeduplicatedError(r.workflow_id, r.queue_name, r.deduplication_id)
        held.add(pair)


class ExportVerbs:
    """The export verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend

    def list_messages(self, workflow_id: str) -> list[StoredNotification]:
        """The workflow's messages in send order (see ``ExportStore``)."""
        rows = self._db.run(Mode.READ, lambda c: c.execute(_MESSAGES, {"wf": workflow_id}).all())
        return [
            StoredNotification(
                topic=None if r.topic == NULL_TOPIC else r.topic,
                message=r.message,
                created_at_epoch_ms=int(r.created_at_epoch_ms),
                consumed=bool(r.consumed),
            )
            for r in rows
        ]

    def list_stream_entries(self, workflow_id: str) -> list[StoredStreamValue]:
        """The workflow's stream entries by key then offset (see ``ExportStore``)."""
        rows = self._db.run(Mode.READ, lambda c: c.execute(_STREAM_ROWS, {"wf": workflow_id}).all())
        return [StoredStreamValue(r.key, int(r.offset), r.value, int(r.function_id)) for r in rows]

    def export_workflows(self, workflow_ids: Sequence[str]) -> list[ExportedWorkflow]:
        """The export of each known id, in order, read on one connection (see
        ``ExportStore``)."""

        def work(conn: Connection) -> list[ExportedWorkflow]:
            return [e for chunk in chunked(workflow_ids) for e in _export_chunk(conn, chunk)]

        return self._db.run(Mode.READ, work)

    def import_workflows(self, exported: Sequence[ExportedWorkflow]) -> None:
        """Insert every export in one transaction, all or nothing (see ``ExportStore``)."""
        records = [record_of(e["workflow_status"]) for e in exported]
        # Normalised through the records, so a row from any store inserts the same way.
        tables: list[tuple[Any, list[dict[str, Any]]]] = [
            (workflow_status, [status_row(r) for r in records]),
            (
                operation_outputs,
                [
                    checkpoint_row(r["workflow_uuid"], checkpoint_of(r))
                    for e in exported
                    for r in e["operation_outputs"]
                ],
            ),
            (workflow_events, [dict(r) for e in exported for r in e["workflow_events"]]),
            (
                workflow_events_history,
                [dict(r) for e in exported for r in e["workflow_events_history"]],
            ),
            (streams, [dict(r) for e in exported for r in e["streams"]]),
        ]

        pg = self._db.dialect_name == "postgresql"

        def work(conn: Connection) -> None:
            _refuse_clashes(conn, records)
            if pg:  # rows left under an imported id must not join, or clash with, its own
                delete_orphans(conn, [r.workflow_id for r in records])
            for table, rows in tables:
                if rows:
                    conn.execute(insert(table), rows)

        # A clash that races the check above still names an id, if not always the one.
        first = records[0].workflow_id if records else None
        self._db.run(Mode.WRITE, work, OnError(duplicate_id=first))
