"""The checkpoint verbs of the in-memory store."""

from __future__ import annotations

from collections.abc import Sequence

from transact._core.checkpoint import Checkpoint
from transact._store.memory.state import (
    MemoryState,
)

__all__ = ["CheckpointVerbs"]


class CheckpointVerbs(MemoryState):
    """The checkpoint verbs of the in-memory store (a mixin of ``MemoryStore``)."""

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

    def load_checkpoints_many(self, workflow_ids: Sequence[str]) -> dict[str, list[Checkpoint]]:
        """``load_checkpoints`` of every id at once, keyed by id."""
        with self._lock:
            return {i: self.load_checkpoints(i) for i in workflow_ids}
