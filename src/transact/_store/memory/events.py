"""The event verbs of the in-memory store."""

from __future__ import annotations

from transact._core.checkpoint import Checkpoint
from transact._store.memory.state import (
    MemoryState,
)

__all__ = ["EventVerbs"]


class EventVerbs(MemoryState):
    """The event verbs of the in-memory store (a mixin of ``MemoryStore``)."""

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
