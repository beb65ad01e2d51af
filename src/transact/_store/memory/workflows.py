"""The workflow status verbs of the in-memory store."""

from __future__ import annotations

import collections
import json
from collections import deque
from collections.abc import Mapping, Sequence

import attrs

from transact._core.query import attributes_match
from transact._core.status import (
    StatusEvent,
    WorkflowStatusString,
)
from transact._store.memory.state import (
    ACTIVE_VALUES,
    OUTCOME_EVENTS,
    MemoryState,
)
from transact._store.records import WorkflowQuery, WorkflowRecord
from transact.errors import (
    DBOSConflictingWorkflowError,
    DBOSNonExistentWorkflowError,
)

__all__ = ["WorkflowVerbs"]


class WorkflowVerbs(MemoryState):
    """The workflow status verbs of the in-memory store (a mixin of ``MemoryStore``)."""

    def insert_workflow(
        self, record: WorkflowRecord, *, fresh_id: bool = False, announce: bool = False
    ) -> tuple[WorkflowRecord, bool]:
        """Insert ``record`` or return the existing row with its id (see ``Store``); a
        deleted workflow leaves nothing behind here, so ``fresh_id`` changes nothing, and
        there is no other process to ``announce`` the row to."""
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
        event = OUTCOME_EVENTS.get(WorkflowStatusString(status))
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
            rows = self._matching(query)
        rows.sort(key=lambda r: (r.created_at, r.workflow_id), reverse=query.sort_desc)
        start = query.offset or 0
        stop = None if query.limit is None else start + query.limit
        return [_project(r, query.load_input, query.load_output) for r in rows[start:stop]]

    def count_workflows(self, query: WorkflowQuery) -> dict[str, int]:
        """How many rows match ``query``'s filters, by status (paging ignored)."""
        with self._lock:
            counts = collections.Counter(r.status for r in self._matching(query))
        return dict(counts)

    def _matching(self, query: WorkflowQuery) -> list[WorkflowRecord]:
        """The rows passing ``query``'s filters (called under the lock). Named ids are
        looked up, not scanned for: the watchdog counts 10,000 of them at a time."""
        if query.workflow_ids is None:
            return [r for r in self._workflows.values() if _matches(r, query)]
        rest = attrs.evolve(query, workflow_ids=None)
        found = (self._workflows.get(w) for w in dict.fromkeys(query.workflow_ids))
        return [r for r in found if r is not None and _matches(r, rest)]

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

    def fork_workflow(
        self,
        original_id: str,
        new: WorkflowRecord,
        start_step: int,
        replacement_children: Mapping[str, str] | None = None,
    ) -> None:
        """Insert ``new`` with the original's history below ``start_step`` (see ``Store``).

        Raises ``DBOSNonExistentWorkflowError`` if the original is missing and
        ``DBOSConflictingWorkflowError`` if ``new.workflow_id`` is taken.
        """
        with self._lock:
            original = self._workflows.get(original_id)
            if original is None:
                raise DBOSNonExistentWorkflowError("target", original_id)
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

            swap = replacement_children or {}
            self._checkpoints[new_id] = {
                fid: attrs.evolve(
                    cp, child_workflow_id=swap.get(cp.child_workflow_id, cp.child_workflow_id)
                )
                if cp.child_workflow_id is not None
                else cp
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

    def begin_recovery_many(
        self, workflow_ids: Sequence[str], executor_id: str, now_ms: int
    ) -> list[WorkflowRecord]:
        """``begin_recovery`` of every id at once; the claimed rows in the ids' order."""
        with self._lock:
            claimed = (
                self.begin_recovery(i, executor_id, now_ms) for i in dict.fromkeys(workflow_ids)
            )
            return [row for row in claimed if row is not None]


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
        (q.application_names, row.application_name),
        (q.schedule_names, row.schedule_name),
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
        row.queue_name is None or (q.statuses is None and row.status not in ACTIVE_VALUES)
    ):
        return False
    if q.was_forked_from is not None and row.was_forked_from != q.was_forked_from:
        return False
    if q.attributes is not None and not attributes_match(
        None if row.attributes is None else json.loads(row.attributes), json.loads(q.attributes)
    ):
        return False
    return q.has_parent is None or (row.parent_workflow_id is not None) == q.has_parent
