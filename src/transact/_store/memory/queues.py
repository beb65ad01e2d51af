"""The queue verbs of the in-memory store."""

from __future__ import annotations

from transact._core.queue_policy import (
    QueueCounts,
    QueueLimits,
    admit,
    budget,
    in_rate_window,
)
from transact._core.status import (
    StatusEvent,
    WorkflowStatusString,
)
from transact._store.memory.state import WAITING_VALUES
from transact._store.memory.workflows import WorkflowVerbs
from transact._store.records import WorkflowRecord

__all__ = ["QueueVerbs"]


class QueueVerbs(WorkflowVerbs):
    """The queue verbs of the in-memory store (a mixin of ``MemoryStore``); over the
    workflow verbs, as a claim from a queue is a workflow's claim."""

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
        take_unversioned: bool = True,
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
                    r.status not in WAITING_VALUES
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
                    or (take_unversioned and not r.application_version)
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
