"""The stream verbs of the in-memory store."""

from __future__ import annotations

from transact._core.checkpoint import Checkpoint
from transact._store.memory.state import (
    MemoryState,
    StreamEntry,
)
from transact._store.records import StreamRead

__all__ = ["StreamVerbs"]


class StreamVerbs(MemoryState):
    """The stream verbs of the in-memory store (a mixin of ``MemoryStore``)."""

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
            # Entries are kept in offset order (each write appends the largest; copies
            # and imports keep or restore the order), so the last key is the largest:
            # ``max`` over them made a long stream's writes quadratic.
            offset = next(reversed(entries), -1) + 1
            entries[offset] = StreamEntry(value, function_id)
            if checkpoint is not None:
                self._put_checkpoint(workflow_id, checkpoint)
            return offset

    def read_stream(self, workflow_id: str, key: str, offset: int, limit: int = 1) -> StreamRead:
        """The value at ``offset`` (None if not yet written) and the workflow's status,
        and up to ``limit - 1`` values after it (see ``Store``)."""
        with self._lock:
            row = self._workflows.get(workflow_id)
            entries = self._streams.get(workflow_id, {}).get(key, {})
            values = []
            for at in range(offset, offset + max(limit, 1)):
                entry = entries.get(at)
                if entry is None:
                    break
                values.append(entry.value)
        return StreamRead(
            value=values[0] if values else None,
            workflow_status=None if row is None else row.status,
            following=tuple(values[1:]),
        )
