"""The export verbs of the in-memory store (see ``transact._store.exports``)."""

from __future__ import annotations

from collections.abc import Sequence

from transact._store.exports import (
    ExportedWorkflow,
    StoredNotification,
    StoredStreamValue,
    checkpoint_of,
    checkpoint_row,
    record_of,
    status_row,
)
from transact._store.memory.state import MemoryState, StreamEntry
from transact.errors import DBOSConflictingWorkflowError, DBOSQueueDeduplicatedError

__all__ = ["ExportVerbs"]


class ExportVerbs(MemoryState):
    """The export verbs of the in-memory store (a mixin of ``MemoryStore``)."""

    def list_messages(self, workflow_id: str) -> list[StoredNotification]:
        """The workflow's messages in send order (see ``ExportStore``)."""
        with self._lock:
            stored = [
                (m.seq, StoredNotification(topic, m.message, m.created_at_epoch_ms, m.consumed))
                for topic, queue in self._messages.get(workflow_id, {}).items()
                for m in queue
            ]
        return [notification for _, notification in sorted(stored, key=lambda s: s[0])]

    def list_stream_entries(self, workflow_id: str) -> list[StoredStreamValue]:
        """The workflow's stream entries by key then offset (see ``ExportStore``)."""
        with self._lock:
            return [
                StoredStreamValue(key, offset, entry.value, entry.function_id)
                for key, entries in sorted(self._streams.get(workflow_id, {}).items())
                for offset, entry in sorted(entries.items())
            ]

    def export_workflows(self, workflow_ids: Sequence[str]) -> list[ExportedWorkflow]:
        """The export of each known id, in order (see ``ExportStore``)."""
        with self._lock:
            return [self._export(w) for w in workflow_ids if w in self._workflows]

    def _export(self, workflow_id: str) -> ExportedWorkflow:
        checkpoints = self._checkpoints.get(workflow_id, {})
        history = self._event_history.get(workflow_id, {})
        return {
            "workflow_status": status_row(self._workflows[workflow_id]),
            "operation_outputs": [
                checkpoint_row(workflow_id, checkpoints[f]) for f in sorted(checkpoints)
            ],
            "workflow_events": [
                {"workflow_uuid": workflow_id, "key": key, "value": value}
                for key, value in sorted(self._events.get(workflow_id, {}).items())
            ],
            "workflow_events_history": [
                {"workflow_uuid": workflow_id, "function_id": f, "key": key, "value": value}
                for (key, f), value in sorted(history.items(), key=lambda kv: kv[0][::-1])
            ],
            "streams": [
                {
                    "workflow_uuid": workflow_id,
                    "key": s.key,
                    "offset": s.offset,
                    "value": s.value,
                    "function_id": s.function_id,
                }
                for s in self.list_stream_entries(workflow_id)
            ],
        }

    def import_workflows(self, exported: Sequence[ExportedWorkflow]) -> None:
        """Insert every export, all or nothing (see ``ExportStore``)."""
        records = [record_of(e["workflow_status"]) for e in exported]
        with self._lock:
            # Every check before the first write: a refused import writes nothing.
            seen: set[str] = set()
            held: set[tuple[str, str]] = set()  # deduplication ids this import takes
            for record in records:
                if record.workflow_id in self._workflows or record.workflow_id in seen:
                    raise DBOSConflictingWorkflowError(
                        record.workflow_id, "cannot import a workflow that already exists"
                    )
                seen.add(record.workflow_id)
                self._check_dedup(record)
                if record.queue_name is not None and record.deduplication_id is not None:
                    pair = (record.queue_name, record.deduplication_id)
                    if pair in held:
                        raise DBOSQueueDeduplicatedError(record.workflow_id, *pair)
                    held.add(pair)
            for record, export in zip(records, exported, strict=True):
                workflow_id = record.workflow_id
                self._workflows[workflow_id] = record
                self._checkpoints[workflow_id] = {
                    c.function_id: c for c in map(checkpoint_of, export["operation_outputs"])
                }
                self._events[workflow_id] = {
                    str(e["key"]): str(e["value"]) for e in export["workflow_events"]
                }
                self._event_history[workflow_id] = {
                    (str(e["key"]), int(e["function_id"])): str(e["value"])
                    for e in export["workflow_events_history"]
                }
                by_key: dict[str, dict[int, StreamEntry]] = {}
                # In offset order, as ``write_stream`` expects (see ``streams.py``).
                for s in sorted(export["streams"], key=lambda s: int(s["offset"])):
                    entry = StreamEntry(str(s["value"]), int(s["function_id"]))
                    by_key.setdefault(str(s["key"]), {})[int(s["offset"])] = entry
                self._streams[workflow_id] = by_key
