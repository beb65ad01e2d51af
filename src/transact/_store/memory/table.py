"""The memory store's workflow rows, indexed by queue.

A claim, a partition sweep or a deduplication check reads one queue's rows; scanning
every row of the store instead made a queue of N workflows cost O(N²) in all (the SQL
stores read an index). :class:`WorkflowTable` is the ``dict`` of rows by id that keeps,
for each queue, the ids of its rows and of those still live (ENQUEUED, DELAYED or
PENDING), updated on every write of a row.
"""

from __future__ import annotations

from transact._core.status import WorkflowStatusString
from transact._store.records import WorkflowRecord

__all__ = ["WorkflowTable"]

_LIVE = frozenset(
    {
        WorkflowStatusString.ENQUEUED.value,
        WorkflowStatusString.DELAYED.value,
        WorkflowStatusString.PENDING.value,
    }
)


class WorkflowTable(dict[str, WorkflowRecord]):
    """Rows by workflow id, with per-queue indexes. Write rows only by item assignment,
    ``del``, ``pop`` or ``clear``: the other ``dict`` writers bypass the indexes."""

    def __init__(self) -> None:
        super().__init__()
        # queue name -> ids of its rows (dicts as insertion-ordered sets)
        self._queues: dict[str, dict[str, None]] = {}
        self._live: dict[str, dict[str, None]] = {}

    def __setitem__(self, workflow_id: str, row: WorkflowRecord) -> None:
        old = self.get(workflow_id)
        if old is not None:
            self._unindex(old)
        super().__setitem__(workflow_id, row)
        if row.queue_name is not None:
            self._queues.setdefault(row.queue_name, {})[workflow_id] = None
            if row.status in _LIVE:
                self._live.setdefault(row.queue_name, {})[workflow_id] = None

    def __delitem__(self, workflow_id: str) -> None:
        self._unindex(self[workflow_id])
        super().__delitem__(workflow_id)

    def pop(self, workflow_id: str, *default: WorkflowRecord | None) -> WorkflowRecord | None:  # type: ignore[override]
        """Remove and return the row (or ``default``, as ``dict.pop``)."""
        row = self.get(workflow_id)
        if row is None:
            return super().pop(workflow_id, *default)
        del self[workflow_id]
        return row

    def clear(self) -> None:
        """Remove every row."""
        super().clear()
        self._queues.clear()
        self._live.clear()

    def in_queue(self, queue_name: str) -> list[WorkflowRecord]:
        """Every row of ``queue_name``, whatever its status."""
        return [self[w] for w in self._queues.get(queue_name, ())]

    def live_in_queue(self, queue_name: str) -> list[WorkflowRecord]:
        """The rows of ``queue_name`` that are ENQUEUED, DELAYED or PENDING."""
        return [self[w] for w in self._live.get(queue_name, ())]

    def _unindex(self, row: WorkflowRecord) -> None:
        if row.queue_name is None:
            return
        for index in (self._queues, self._live):
            ids = index.get(row.queue_name)
            if ids is not None:
                ids.pop(row.workflow_id, None)
                if not ids:
                    del index[row.queue_name]
