"""The in-memory store's data and the checks every verb shares (call them with the lock
held). Each concern's verbs are a mixin over :class:`MemoryState`.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import attrs

from transact._core.checkpoint import Checkpoint
from transact._core.status import (
    ACTIVE,
    IllegalTransition,
    StatusEvent,
    WorkflowStatusString,
    transition,
)
from transact._store.errors import CheckpointConflict, WorkflowNotPending
from transact._store.memory.table import WorkflowTable
from transact._store.records import VersionRecord, WorkflowRecord
from transact.errors import (
    DBOSNonExistentWorkflowError,
    DBOSQueueDeduplicatedError,
)

__all__ = [
    "ACTIVE_VALUES",
    "OUTCOME_EVENTS",
    "WAITING_VALUES",
    "MemoryState",
    "StoredMessage",
    "StreamEntry",
]

OUTCOME_EVENTS = {
    WorkflowStatusString.SUCCESS: StatusEvent.SUCCEED,
    WorkflowStatusString.ERROR: StatusEvent.FAIL,
}
ACTIVE_VALUES = frozenset(s.value for s in ACTIVE)
# Rows still waiting in line: they have not been dequeued, so no rate window counts them.
WAITING_VALUES = frozenset(
    {WorkflowStatusString.ENQUEUED.value, WorkflowStatusString.DELAYED.value}
)


_MESSAGE_SEQUENCE = itertools.count()


@attrs.define
class StoredMessage:
    """A message in its queue; a consumed one stays, flagged."""

    message: str
    consumed: bool = False
    created_at_epoch_ms: int = 0
    # Send order across topics (SQL's ``seq``), which the per-topic lists lose; one
    # counter for every memory store, as only the order matters.
    seq: int = attrs.field(factory=lambda: next(_MESSAGE_SEQUENCE))


class Mailbox(list[StoredMessage]):
    """The messages of one (destination, topic) in send order. Consumed ones stay,
    flagged, and are always a prefix (a receive takes the oldest unconsumed), so
    ``unconsumed`` (the first unconsumed index) keeps a receive from rescanning them."""

    def __init__(self) -> None:
        super().__init__()
        self.unconsumed = 0

    def oldest(self) -> StoredMessage | None:
        """The oldest unconsumed message, if any."""
        return self[self.unconsumed] if self.unconsumed < len(self) else None

    def consume(self) -> None:
        """Flag the oldest unconsumed message (there is one) as consumed."""
        self[self.unconsumed].consumed = True
        self.unconsumed += 1


@attrs.frozen
class StreamEntry:
    """A value of a stream, with the step that wrote it (a fork copies by step)."""

    value: str
    function_id: int


class MemoryState:
    """The dicts of a :class:`~transact._store.memory.MemoryStore` and its shared checks."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._workflows = WorkflowTable()
        self._checkpoints: dict[str, dict[int, Checkpoint]] = {}
        # destination -> topic -> messages in insertion order (consumed ones stay, flagged).
        self._messages: dict[str, dict[str | None, Mailbox]] = {}
        # message id -> destination, so deleting the destination frees the id (as the
        # SQL cascade does).
        self._message_ids: dict[str, str] = {}
        self._events: dict[str, dict[str, str]] = {}
        self._event_history: dict[str, dict[tuple[str, int], str]] = {}
        # Keyed by offset rather than a list: a fork copies entries by function id, which
        # need not be a prefix, and the copied entries keep their offsets as in SQL.
        self._streams: dict[str, dict[str, dict[int, StreamEntry]]] = {}
        self._versions: dict[tuple[str | None, str], VersionRecord] = {}

    # Helpers: call them with the lock held.

    def _apply(self, workflow_id: str, event: StatusEvent, **changes: Any) -> WorkflowRecord | None:
        """Apply ``event`` and ``changes`` to the row if the transition table allows it."""
        row = self._workflows.get(workflow_id)
        if row is None:
            return None
        try:
            status = transition(WorkflowStatusString(row.status), event)
        except IllegalTransition:
            return None
        updated = attrs.evolve(row, status=status.value, **changes)
        self._workflows[workflow_id] = updated
        return updated

    def _check_dedup(self, record: WorkflowRecord) -> None:
        # Like the SQL unique index on (queue_name, deduplication_id), a row without a
        # queue holds nothing.
        if record.deduplication_id is None or record.queue_name is None:
            return
        for row in self._workflows.in_queue(record.queue_name):
            if row.deduplication_id == record.deduplication_id:
                raise DBOSQueueDeduplicatedError(
                    record.workflow_id, record.queue_name, record.deduplication_id
                )

    def _require_workflow(self, workflow_id: str) -> None:
        if workflow_id not in self._workflows:
            raise DBOSNonExistentWorkflowError("target", workflow_id)

    def _check_checkpoint(self, workflow_id: str, checkpoint: Checkpoint) -> None:
        row = self._workflows.get(workflow_id)
        if row is None or row.status != WorkflowStatusString.PENDING:
            raise WorkflowNotPending(workflow_id, None if row is None else row.status)
        if checkpoint.function_id in self._checkpoints.get(workflow_id, {}):
            raise CheckpointConflict(workflow_id, checkpoint.function_id)

    def _put_checkpoint(self, workflow_id: str, checkpoint: Checkpoint) -> None:
        self._checkpoints.setdefault(workflow_id, {})[checkpoint.function_id] = checkpoint
