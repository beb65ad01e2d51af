"""The in-memory store: the reference model the SQL stores are checked against.

Simplest correct code over plain dicts, guarded by one re-entrant lock; no I/O. Records
are frozen, so rows are shared and replaced (``attrs.evolve``), never copied. Every verb
validates everything before its first mutation, which is how "a verb that raises has
written nothing" holds without a rollback mechanism.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

import attrs

from transact._core.checkpoint import Checkpoint
from transact._core.queue_policy import (
    QueueCounts,
    QueueLimits,
    admit,
    budget,
    in_rate_window,
)
from transact._core.status import (
    ACTIVE,
    IllegalTransition,
    StatusEvent,
    WorkflowStatusString,
    transition,
)
from transact._store.errors import CheckpointConflict, WorkflowNotPending
from transact._store.protocol import NotifyCallback
from transact._store.records import OutgoingMessage, StreamRead, WorkflowQuery, WorkflowRecord
from transact.errors import (
    DBOSConflictingWorkflowError,
    DBOSNonExistentWorkflowError,
    DBOSQueueDeduplicatedError,
)

__all__ = ["MemoryStore"]

_OUTCOME_EVENTS = {
    WorkflowStatusString.SUCCESS: StatusEvent.SUCCEED,
    WorkflowStatusString.ERROR: StatusEvent.FAIL,
}
_ACTIVE_VALUES = frozenset(s.value for s in ACTIVE)
# Rows still waiting in line: they have not been dequeued, so no rate window counts them.
_WAITING_VALUES = frozenset(
    {WorkflowStatusString.ENQUEUED.value, WorkflowStatusString.DELAYED.value}
)


@attrs.define
class _Message:
    message: str
    consumed: bool = False


@attrs.frozen
class _StreamEntry:
    value: str
    function_id: int


class MemoryStore:
    """A :class:`~transact._store.protocol.Store` held in process memory.

    ``MemoryStore()`` is private to its creator; :meth:`named` shares one instance per
    name across the process, so a runtime relaunched on ``memory://<name>`` finds its
    data again (a simulated restart).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._workflows: dict[str, WorkflowRecord] = {}
        self._checkpoints: dict[str, dict[int, Checkpoint]] = {}
        # destination -> topic -> messages in insertion order (consumed ones stay, flagged).
        self._messages: dict[str, dict[str | None, list[_Message]]] = {}
        # message id -> destination, so deleting the destination frees the id (as the
        # SQL cascade does).
        self._message_ids: dict[str, str] = {}
        self._events: dict[str, dict[str, str]] = {}
        self._event_history: dict[str, dict[tuple[str, int], str]] = {}
        # Keyed by offset rather than a list: a fork copies entries by function id, which
        # need not be a prefix, and the copied entries keep their offsets as in SQL.
        self._streams: dict[str, dict[str, dict[int, _StreamEntry]]] = {}

    @classmethod
    def named(cls, name: str) -> MemoryStore:
        """The process-wide store called ``name``, created on first use."""
        with _NAMED_LOCK:
            store = _NAMED.get(name)
            if store is None:
                store = _NAMED[name] = cls()
            return store

    # --- lifecycle -------------------------------------------------------------------

    def migrate(self) -> None:
        """Nothing to create: the schema is the Python objects."""

    def reset(self) -> None:
        """Forget every workflow and everything attached to it."""
        with self._lock:
            self._workflows.clear()
            self._checkpoints.clear()
            self._messages.clear()
            self._message_ids.clear()
            self._events.clear()
            self._event_history.clear()
            self._streams.clear()

    def close(self) -> None:
        """Nothing to release; the data stays for the next user of a named store."""

    def subscribe(self, on_notify: NotifyCallback) -> bool:
        """Return False: there is no other process to hear from."""
        return False

    def listen_for_outcomes(self) -> None:
        """Nothing to hear: there is no other process."""

    def publish(self, keys: Sequence[str]) -> None:
        """Nothing to send: there is no other process."""

    # --- workflow status -------------------------------------------------------------

    def insert_workflow(self, record: WorkflowRecord) -> tuple[WorkflowRecord, bool]:
        """Insert ``record`` or return the existing row with its id (see ``Store``)."""
        with self._lock:
            existing = self._workflows.get(record.workflow_id)
            if existing is not None:
                return existing, False
            self._check_dedup(record)
            # Stored as the plain string so rows look the same as ones read back from SQL.
            row = attrs.evolve(record, status=WorkflowStatusString(record.status).value)
            self._workflows[row.workflow_id] = row
            return row, True

    def get_workflow(
        self, workflow_id: str, *, load_input: bool = True, load_output: bool = True
    ) -> WorkflowRecord | None:
        """The row of ``workflow_id``, or None."""
        with self._lock:
            row = self._workflows.get(workflow_id)
        return None if row is None else _project(row, load_input, load_output)

    def finish_workflow(
        self, workflow_id: str, *, status: str, output: str | None, error: str | None, now_ms: int
    ) -> bool:
        """Record the outcome of a PENDING workflow; False if it is not PENDING.

        Raises ``ValueError`` if ``status`` is not SUCCESS or ERROR.
        """
        event = _OUTCOME_EVENTS.get(WorkflowStatusString(status))
        if event is None:
            raise ValueError(f"finish_workflow needs status SUCCESS or ERROR, not {status!r}")
        with self._lock:
            row = self._apply(
                workflow_id,
                event,
                output=output,
                error=error,
                completed_at=now_ms,
                updated_at=now_ms,
                deduplication_id=None,
            )
            return row is not None

    def list_workflows(self, query: WorkflowQuery) -> list[WorkflowRecord]:
        """Rows matching ``query``, ordered and paged as ``WorkflowQuery`` describes."""
        with self._lock:
            rows = [r for r in self._workflows.values() if _matches(r, query)]
        rows.sort(key=lambda r: (r.created_at, r.workflow_id), reverse=query.sort_desc)
        start = query.offset or 0
        stop = None if query.limit is None else start + query.limit
        return [_project(r, query.load_input, query.load_output) for r in rows[start:stop]]

    def pending_workflow_ids(self, executor_id: str, application_version: str | None) -> list[str]:
        """Ids of PENDING rows owned by ``executor_id``, oldest first."""
        with self._lock:
            rows = [
                r
                for r in self._workflows.values()
                if r.status == WorkflowStatusString.PENDING
                and r.executor_id == executor_id
                and (application_version is None or r.application_version == application_version)
            ]
        rows.sort(key=lambda r: (r.created_at, r.workflow_id))
        return [r.workflow_id for r in rows]

    def begin_recovery(
        self, workflow_id: str, executor_id: str, now_ms: int
    ) -> WorkflowRecord | None:
        """Count a recovery attempt of a PENDING row and hand it to ``executor_id``."""
        with self._lock:
            row = self._workflows.get(workflow_id)
            if row is None:
                return None
            return self._apply(
                workflow_id,
                StatusEvent.RECOVER,
                recovery_attempts=row.recovery_attempts + 1,
                executor_id=executor_id,
                updated_at=now_ms,
            )

    def claim_workflow(
        self, workflow_id: str, executor_id: str, application_version: str | None, now_ms: int
    ) -> WorkflowRecord | None:
        """Dequeue one ENQUEUED row for ``executor_id``; None if it is not ENQUEUED."""
        with self._lock:
            row = self._workflows.get(workflow_id)
            if row is None:
                return None
            deadline = row.workflow_deadline_epoch_ms
            if deadline is None and row.workflow_timeout_ms is not None:
                deadline = now_ms + row.workflow_timeout_ms
            return self._apply(
                workflow_id,
                StatusEvent.DEQUEUE,
                recovery_attempts=row.recovery_attempts + 1,
                executor_id=executor_id,
                started_at_epoch_ms=now_ms,
                updated_at=now_ms,
                application_version=row.application_version or application_version,
                workflow_deadline_epoch_ms=deadline,
            )

    def dead_letter(self, workflow_id: str, now_ms: int) -> bool:
        """Move a PENDING row to MAX_RECOVERY_ATTEMPTS_EXCEEDED; False if not PENDING."""
        with self._lock:
            row = self._apply(
                workflow_id,
                StatusEvent.DEAD_LETTER,
                queue_name=None,
                deduplication_id=None,
                started_at_epoch_ms=None,
                completed_at=now_ms,
                updated_at=now_ms,
            )
            return row is not None

    def cancel_workflows(self, workflow_ids: Sequence[str], now_ms: int) -> list[str]:
        """Cancel the listed active rows; return the ids actually cancelled."""
        cancelled: list[str] = []
        with self._lock:
            for workflow_id in workflow_ids:
                row = self._apply(
                    workflow_id,
                    StatusEvent.CANCEL,
                    queue_name=None,
                    deduplication_id=None,
                    started_at_epoch_ms=None,
                    completed_at=now_ms,
                    updated_at=now_ms,
                )
                if row is not None:
                    cancelled.append(workflow_id)
        return cancelled

    def resume_workflow(
        self, workflow_id: str, queue_name: str, now_ms: int
    ) -> WorkflowRecord | None:
        """Re-enqueue a resumable row on ``queue_name`` (see ``Store``)."""
        with self._lock:
            row = self._workflows.get(workflow_id)
            if row is None:
                return None
            resumed = self._apply(
                workflow_id,
                StatusEvent.RESUME,
                queue_name=queue_name,
                recovery_attempts=0,
                workflow_deadline_epoch_ms=None,
                deduplication_id=None,
                started_at_epoch_ms=None,
                completed_at=None,
                updated_at=now_ms,
            )
            return row if resumed is None else resumed

    def delete_workflows(self, workflow_ids: Sequence[str]) -> None:
        """Delete the rows and everything attached to them; unknown ids are ignored."""
        with self._lock:
            doomed = set(workflow_ids)
            for workflow_id in doomed:
                self._workflows.pop(workflow_id, None)
                self._checkpoints.pop(workflow_id, None)
                self._messages.pop(workflow_id, None)
                self._events.pop(workflow_id, None)
                self._event_history.pop(workflow_id, None)
                self._streams.pop(workflow_id, None)
            for message_id in [m for m, dest in self._message_ids.items() if dest in doomed]:
                del self._message_ids[message_id]

    def descendants(self, workflow_ids: Sequence[str]) -> list[str]:
        """Every transitive child of the ids (not the ids), breadth-first."""
        with self._lock:
            children: dict[str, list[WorkflowRecord]] = {}
            for row in self._workflows.values():
                if row.parent_workflow_id is not None:
                    children.setdefault(row.parent_workflow_id, []).append(row)
        seen = set(workflow_ids)
        frontier = deque(workflow_ids)
        found: list[str] = []
        while frontier:
            kids = children.get(frontier.popleft(), [])
            for child in sorted(kids, key=lambda r: (r.created_at, r.workflow_id)):
                if child.workflow_id not in seen:
                    seen.add(child.workflow_id)
                    found.append(child.workflow_id)
                    frontier.append(child.workflow_id)
        return found

    def fork_workflow(self, original_id: str, new: WorkflowRecord, start_step: int) -> None:
        """Insert ``new`` with the original's history below ``start_step`` (see ``Store``).

        Raises ``DBOSNonExistentWorkflowError`` if the original is missing and
        ``DBOSConflictingWorkflowError`` if ``new.workflow_id`` is taken.
        """
        with self._lock:
            original = self._workflows.get(original_id)
            if original is None:
                raise DBOSNonExistentWorkflowError("workflow", original_id)
            if new.workflow_id in self._workflows:
                raise DBOSConflictingWorkflowError(
                    new.workflow_id, "a workflow with this id already exists"
                )
            self._check_dedup(new)
            new_id = new.workflow_id
            self._workflows[new_id] = attrs.evolve(
                new, status=WorkflowStatusString(new.status).value
            )
            self._workflows[original_id] = attrs.evolve(original, was_forked_from=True)

            self._checkpoints[new_id] = {
                fid: cp
                for fid, cp in self._checkpoints.get(original_id, {}).items()
                if fid < start_step
            }

            history = {
                (key, fid): value
                for (key, fid), value in self._event_history.get(original_id, {}).items()
                if fid < start_step
            }
            self._event_history[new_id] = history
            latest: dict[str, str] = {}
            # Sorted by (key, function id), so the last write per key is the highest id.
            for key, fid in sorted(history):
                latest[key] = history[(key, fid)]
            self._events[new_id] = latest

            self._streams[new_id] = {
                key: {off: e for off, e in entries.items() if e.function_id < start_step}
                for key, entries in self._streams.get(original_id, {}).items()
            }

    # --- checkpoints -----------------------------------------------------------------

    def record_checkpoint(self, workflow_id: str, checkpoint: Checkpoint) -> None:
        """Record one checkpoint of a PENDING workflow (see ``Store``)."""
        with self._lock:
            self._check_checkpoint(workflow_id, checkpoint)
            self._put_checkpoint(workflow_id, checkpoint)

    def load_checkpoints(self, workflow_id: str) -> list[Checkpoint]:
        """All checkpoints of the workflow, by ascending function id."""
        with self._lock:
            entries = self._checkpoints.get(workflow_id, {})
            return [entries[fid] for fid in sorted(entries)]

    # --- messages --------------------------------------------------------------------

    def send_message(
        self,
        destination_id: str,
        topic: str | None,
        message: str,
        *,
        message_id: str | None,
        now_ms: int,
        checkpoint: tuple[str, Checkpoint] | None = None,
    ) -> bool:
        """Append a message for (destination, topic), idempotent on ``message_id``."""
        with self._lock:
            if checkpoint is not None:
                self._check_checkpoint(*checkpoint)
            # An idempotent repeat still records the sender's checkpoint: the send, as an
            # operation of the sender, did complete (its message was delivered earlier).
            duplicate = message_id is not None and message_id in self._message_ids
            # Checked after the id, as SQL's ON CONFLICT DO NOTHING does: a repeated id
            # inserts nothing, so a missing destination breaks no foreign key.
            if not duplicate and destination_id not in self._workflows:
                raise DBOSNonExistentWorkflowError("destination", destination_id)
            if not duplicate:
                if message_id is not None:
                    self._message_ids[message_id] = destination_id
                queue = self._messages.setdefault(destination_id, {}).setdefault(topic, [])
                queue.append(_Message(message))
            if checkpoint is not None:
                self._put_checkpoint(*checkpoint)
            return not duplicate

    def send_messages(
        self,
        messages: Sequence[OutgoingMessage],
        *,
        now_ms: int,
        checkpoint: tuple[str, Checkpoint] | None = None,
    ) -> list[bool]:
        """Send every message in one transaction: all or, if a destination is missing,
        nothing (see ``Store``)."""
        with self._lock:
            if checkpoint is not None:
                self._check_checkpoint(*checkpoint)
            missing = sorted({m.destination_id for m in messages} - self._workflows.keys())
            if missing:
                raise DBOSNonExistentWorkflowError("destination", ", ".join(missing))
            inserted = []
            for m in messages:
                duplicate = m.message_id is not None and m.message_id in self._message_ids
                if not duplicate:
                    if m.message_id is not None:
                        self._message_ids[m.message_id] = m.destination_id
                    queue = self._messages.setdefault(m.destination_id, {})
                    queue.setdefault(m.topic, []).append(_Message(m.message))
                inserted.append(not duplicate)
            if checkpoint is not None:
                self._put_checkpoint(*checkpoint)
            return inserted

    def consume_message(
        self, workflow_id: str, topic: str | None, checkpoint: Checkpoint
    ) -> str | None:
        """Take the oldest unconsumed message of (workflow, topic) and checkpoint it."""
        with self._lock:
            queue = self._messages.get(workflow_id, {}).get(topic, [])
            oldest = next((m for m in queue if not m.consumed), None)
            if oldest is None:
                return None
            recorded = attrs.evolve(checkpoint, output=oldest.message)
            self._check_checkpoint(workflow_id, recorded)
            oldest.consumed = True
            self._put_checkpoint(workflow_id, recorded)
            return oldest.message

    def has_message(self, workflow_id: str, topic: str | None) -> bool:
        """Whether (workflow, topic) has an unconsumed message."""
        with self._lock:
            queue = self._messages.get(workflow_id, {}).get(topic, [])
            return any(not m.consumed for m in queue)

    # --- events ----------------------------------------------------------------------

    def set_event(
        self,
        workflow_id: str,
        key: str,
        value: str,
        function_id: int,
        checkpoint: Checkpoint | None,
    ) -> None:
        """Set event ``key`` and its history entry at ``function_id`` (see ``Store``)."""
        with self._lock:
            self._require_workflow(workflow_id)
            if checkpoint is not None:
                self._check_checkpoint(workflow_id, checkpoint)
            self._events.setdefault(workflow_id, {})[key] = value
            self._event_history.setdefault(workflow_id, {})[(key, function_id)] = value
            if checkpoint is not None:
                self._put_checkpoint(workflow_id, checkpoint)

    def get_event(self, workflow_id: str, key: str) -> str | None:
        """The latest value of event ``key``, or None if it was never set."""
        with self._lock:
            return self._events.get(workflow_id, {}).get(key)

    def get_all_events(self, workflow_id: str) -> dict[str, str]:
        """The latest value of every event of the workflow."""
        with self._lock:
            return dict(self._events.get(workflow_id, {}))

    # --- streams ---------------------------------------------------------------------

    def write_stream(
        self,
        workflow_id: str,
        key: str,
        value: str,
        function_id: int,
        checkpoint: Checkpoint | None,
    ) -> int:
        """Append ``value`` to stream ``key``; return its offset (see ``Store``)."""
        with self._lock:
            self._require_workflow(workflow_id)
            if checkpoint is not None:
                self._check_checkpoint(workflow_id, checkpoint)
            entries = self._streams.setdefault(workflow_id, {}).setdefault(key, {})
            offset = max(entries, default=-1) + 1
            entries[offset] = _StreamEntry(value, function_id)
            if checkpoint is not None:
                self._put_checkpoint(workflow_id, checkpoint)
            return offset

    def read_stream(self, workflow_id: str, key: str, offset: int) -> StreamRead:
        """The value at ``offset`` (None if not yet written) and the workflow's status."""
        with self._lock:
            row = self._workflows.get(workflow_id)
            entry = self._streams.get(workflow_id, {}).get(key, {}).get(offset)
        return StreamRead(
            value=None if entry is None else entry.value,
            workflow_status=None if row is None else row.status,
        )

    # --- queues ----------------------------------------------------------------------

    def claim_queued(
        self,
        queue_name: str,
        *,
        executor_id: str,
        application_version: str | None,
        limits: QueueLimits,
        local_running: int,
        partition_key: str | None,
        max_claims: int | None,
        now_ms: int,
    ) -> list[WorkflowRecord]:
        """Release due delayed rows, then claim what the policy admits (see ``Store``)."""
        if budget(limits, QueueCounts(local_running=local_running), max_claims) == 0:
            return []
        with self._lock:
            scope = [
                r
                for r in self._workflows.values()
                if r.queue_name == queue_name
                and (partition_key is None or r.queue_partition_key == partition_key)
            ]
            for row in scope:
                if (
                    row.status == WorkflowStatusString.DELAYED
                    and (row.delay_until_epoch_ms or 0) <= now_ms
                ):
                    self._apply(row.workflow_id, StatusEvent.RELEASE, updated_at=now_ms)
            scope = [self._workflows[r.workflow_id] for r in scope]
            rate = limits.rate_limit
            counts = QueueCounts(
                pending=sum(r.status == WorkflowStatusString.PENDING for r in scope),
                local_running=local_running,
                recent_dequeues=0
                if rate is None
                else sum(
                    r.status not in _WAITING_VALUES
                    and in_rate_window(r.started_at_epoch_ms, now_ms, rate)
                    for r in scope
                ),
            )
            candidates = [
                r
                for r in scope
                if r.status == WorkflowStatusString.ENQUEUED
                and (
                    application_version is None
                    or not r.application_version
                    or r.application_version == application_version
                )
            ]
            claimed = []
            for row in admit(limits, counts, candidates, max_claims):
                record = self.claim_workflow(
                    row.workflow_id, executor_id, application_version, now_ms
                )
                assert record is not None  # ENQUEUED, under the lock
                claimed.append(record)
            return claimed

    def queued_partitions(self, queue_name: str, now_ms: int) -> list[str]:
        """Partition keys with an ENQUEUED (or due DELAYED) row on ``queue_name``."""
        with self._lock:
            keys = {
                r.queue_partition_key
                for r in self._workflows.values()
                if r.queue_name == queue_name
                and r.queue_partition_key is not None
                and (
                    r.status == WorkflowStatusString.ENQUEUED
                    or (
                        r.status == WorkflowStatusString.DELAYED
                        and (r.delay_until_epoch_ms or 0) <= now_ms
                    )
                )
            }
        return sorted(keys)

    # --- recovery in bulk -------------------------------------------------------------

    def begin_recovery_many(
        self, workflow_ids: Sequence[str], executor_id: str, now_ms: int
    ) -> list[WorkflowRecord]:
        """``begin_recovery`` of every id at once; the claimed rows in the ids' order."""
        with self._lock:
            claimed = (
                self.begin_recovery(i, executor_id, now_ms) for i in dict.fromkeys(workflow_ids)
            )
            return [row for row in claimed if row is not None]

    def load_checkpoints_many(self, workflow_ids: Sequence[str]) -> dict[str, list[Checkpoint]]:
        """``load_checkpoints`` of every id at once, keyed by id."""
        with self._lock:
            return {i: self.load_checkpoints(i) for i in workflow_ids}

    # --- helpers (call with the lock held) -------------------------------------------

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
        for row in self._workflows.values():
            if (
                row.queue_name == record.queue_name
                and row.deduplication_id == record.deduplication_id
            ):
                raise DBOSQueueDeduplicatedError(
                    record.workflow_id, record.queue_name, record.deduplication_id
                )

    def _require_workflow(self, workflow_id: str) -> None:
        if workflow_id not in self._workflows:
            raise DBOSNonExistentWorkflowError("workflow", workflow_id)

    def _check_checkpoint(self, workflow_id: str, checkpoint: Checkpoint) -> None:
        row = self._workflows.get(workflow_id)
        if row is None or row.status != WorkflowStatusString.PENDING:
            raise WorkflowNotPending(workflow_id, None if row is None else row.status)
        if checkpoint.function_id in self._checkpoints.get(workflow_id, {}):
            raise CheckpointConflict(workflow_id, checkpoint.function_id)

    def _put_checkpoint(self, workflow_id: str, checkpoint: Checkpoint) -> None:
        self._checkpoints.setdefault(workflow_id, {})[checkpoint.function_id] = checkpoint


def _project(row: WorkflowRecord, load_input: bool, load_output: bool) -> WorkflowRecord:
    """``row`` with the columns the caller did not ask for blanked."""
    if load_input and load_output:
        return row
    if not load_input:
        row = attrs.evolve(row, inputs=None)
    if not load_output:
        row = attrs.evolve(row, output=None, error=None)
    return row


def _within(value: int | None, low: int | None, high: int | None) -> bool:
    """Inclusive bounds; like SQL, a missing value fails any bound."""
    if low is None and high is None:
        return True
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def _matches(row: WorkflowRecord, q: WorkflowQuery) -> bool:
    """Whether ``row`` passes every filter of ``q``."""
    pairs: list[tuple[tuple[str, ...] | None, str | None]] = [
        (q.workflow_ids, row.workflow_id),
        (q.statuses, row.status),
        (q.names, row.name),
        (q.application_versions, row.application_version),
        (q.executor_ids, row.executor_id),
        (q.queue_names, row.queue_name),
        (q.parent_workflow_ids, row.parent_workflow_id),
        (q.forked_from, row.forked_from),
        (q.users, row.authenticated_user),
    ]
    if any(allowed is not None and value not in allowed for allowed, value in pairs):
        return False
    if q.workflow_id_prefixes is not None and not row.workflow_id.startswith(
        q.workflow_id_prefixes
    ):
        return False
    if not (
        _within(row.created_at, q.created_after, q.created_before)
        and _within(row.completed_at, q.completed_after, q.completed_before)
        and _within(row.started_at_epoch_ms, q.dequeued_after, q.dequeued_before)
    ):
        return False
    if q.queues_only and (
        row.queue_name is None or (q.statuses is None and row.status not in _ACTIVE_VALUES)
    ):
        return False
    if q.was_forked_from is not None and row.was_forked_from != q.was_forked_from:
        return False
    return q.has_parent is None or (row.parent_workflow_id is not None) == q.has_parent


_NAMED: dict[str, MemoryStore] = {}
_NAMED_LOCK = threading.Lock()
