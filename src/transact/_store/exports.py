"""The part of the ``Store`` protocol that reads a workflow's whole footprint out and
writes it back: its messages and stream entries as rows (for DBOS Conductor's
inspection requests), and ``export_workflows`` / ``import_workflows`` (DBOS's
``export_workflow`` / ``import_workflow``). Same contract as ``protocol.py``.

Exported rows are plain dicts keyed by the column names of transact's tables, with the
same value types from every store (``int``, ``bool``, ``str`` or None), so an export
pickles without transact's classes and imports into any other kind of store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypedDict

import attrs

from transact._core.checkpoint import Checkpoint
from transact._store.records import WorkflowRecord

__all__ = [
    "ExportStore",
    "ExportedWorkflow",
    "StoredNotification",
    "StoredStreamValue",
    "checkpoint_of",
    "checkpoint_row",
    "record_of",
    "status_row",
]


@attrs.frozen
class StoredNotification:
    """One message sent to a workflow (a row of ``notifications``), consumed or not."""

    topic: str | None
    message: str  # serialized text
    created_at_epoch_ms: int
    consumed: bool


@attrs.frozen
class StoredStreamValue:
    """One entry of a workflow's stream (a row of ``streams``); a closed stream's last
    entry is the close marker, stored as any value is."""

    key: str
    offset: int
    value: str  # serialized text
    function_id: int


class ExportedWorkflow(TypedDict):
    """One workflow as ``export_workflows`` returns it and ``import_workflows`` takes it:
    its ``workflow_status`` row and the rows of the tables hanging off it (messages
    excepted, as in DBOS). Each row is a dict of column name to value."""

    workflow_status: dict[str, Any]
    operation_outputs: list[dict[str, Any]]
    workflow_events: list[dict[str, Any]]
    workflow_events_history: list[dict[str, Any]]
    streams: list[dict[str, Any]]


_RECORD_FIELDS = tuple(f.name for f in attrs.fields(WorkflowRecord))
_CHECKPOINT_FIELDS = tuple(f.name for f in attrs.fields(Checkpoint))
_BOOLEAN_FIELDS = frozenset({"was_forked_from", "is_debounced"})


def _column(field: str) -> str:
    # The one field named differently from its column: DBOS's ``workflow_uuid``.
    return "workflow_uuid" if field == "workflow_id" else field


def status_row(record: WorkflowRecord) -> dict[str, Any]:
    """The ``workflow_status`` columns of ``record``."""
    return {_column(name): getattr(record, name) for name in _RECORD_FIELDS}


def record_of(row: Mapping[str, Any]) -> WorkflowRecord:
    """The record of a ``workflow_status`` row (``status_row``'s inverse); booleans are
    normalised, since SQLite hands them back as integers."""
    values = {name: row.get(_column(name)) for name in _RECORD_FIELDS}
    for name in _BOOLEAN_FIELDS:
        values[name] = bool(values[name])
    for name in ("recovery_attempts", "priority"):
        values[name] = int(values[name] or 0)
    return WorkflowRecord(**values)  # type: ignore[arg-type]  # the row is a status row


def checkpoint_row(workflow_id: str, checkpoint: Checkpoint) -> dict[str, Any]:
    """The ``operation_outputs`` columns of one checkpoint of ``workflow_id``."""
    row = {"workflow_uuid": workflow_id}
    row.update({name: getattr(checkpoint, name) for name in _CHECKPOINT_FIELDS})
    return row


def checkpoint_of(row: Mapping[str, Any]) -> Checkpoint:
    """The checkpoint of an ``operation_outputs`` row (``checkpoint_row``'s inverse)."""
    return Checkpoint(
        function_id=int(row["function_id"]),
        function_name=str(row["function_name"]),
        output=row.get("output"),
        error=row.get("error"),
        child_workflow_id=row.get("child_workflow_id"),
        started_at_epoch_ms=row.get("started_at_epoch_ms"),
        completed_at_epoch_ms=row.get("completed_at_epoch_ms"),
        args_digest=row.get("args_digest"),
    )


class ExportStore(Protocol):
    """A workflow's messages and streams as rows; export and import of workflows."""

    def list_messages(self, workflow_id: str) -> list[StoredNotification]:
        """Every message whose destination is the workflow, consumed or not, in the
        order they were sent (across topics). Empty for an unknown workflow."""
        ...

    def list_stream_entries(self, workflow_id: str) -> list[StoredStreamValue]:
        """Every stream entry of the workflow, by key then offset (close markers
        included as stored). Empty for an unknown workflow."""
        ...

    def export_workflows(self, workflow_ids: Sequence[str]) -> list[ExportedWorkflow]:
        """The export of each id that names a workflow, in the order given (unknown ids
        are skipped). Not a snapshot: rows written while it reads (a step of a running
        workflow) may or may not be in it. Rows within an export are ordered:
        checkpoints by function id, events by key, event history by (function id, key),
        stream entries by (key, offset)."""
        ...

    def import_workflows(self, exported: Sequence[ExportedWorkflow]) -> None:
        """Insert every row of every export in one transaction. If an exported id is
        already a workflow here (or appears twice in ``exported``), raises
        ``DBOSConflictingWorkflowError`` naming it and writes nothing; a deduplication
        id held by another row (or by an earlier export of ``exported``, on the same
        queue) raises ``DBOSQueueDeduplicatedError``, also writing nothing. Latest
        events are imported as exported, not rebuilt from history."""
        ...
