"""The queue verbs of the in-memory store."""

from __future__ import annotations

import attrs

from transact._core.queue_policy import (
    QueueLimits,
    RateLimit,
    admit,
    budget,
    in_rate_window,
    local_counts,
    order_key,
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
        partition_local_running: int | None = None,
        take_unversioned: bool = True,
    ) -> list[WorkflowRecord]:
        """Release due delayed rows, then claim what the policy admits (see ``Store``)."""
        local = local_counts(local_running, partition_local_running)
        if budget(limits, local, max_claims) == 0:
            return []

        def in_scope(rows: list[WorkflowRecord]) -> list[WorkflowRecord]:
            if partition_key is None:
                return rows
            return [r for r in rows if r.queue_partition_key == partition_key]

        with self._lock:
            self._release_due(in_scope(self._workflows.live_in_queue(queue_name)), now_ms)
            live = self._workflows.live_in_queue(queue_name)
            queue_wide, partition = limits.scopes()
            # A rate window counts finished rows too: read them only for a rate limit.
            rated = queue_wide.rate_limit is not None or partition.rate_limit is not None
            every = self._workflows.in_queue(queue_name) if rated else []
            counts = attrs.evolve(
                local,
                pending=_pending(live),
                recent_dequeues=_recent(every, now_ms, queue_wide.rate_limit),
                partition_pending=_pending(in_scope(live)),
                partition_recent_dequeues=_recent(in_scope(every), now_ms, partition.rate_limit),
            )
            candidates = [
                r for r in in_scope(live) if _claimable(r, application_version, take_unversioned)
            ]
            admitted = admit(limits, counts, candidates, max_claims)
            return self._claim_rows(admitted, executor_id, application_version, now_ms)

    def claim_partition_heads(
        self,
        queue_name: str,
        *,
        executor_id: str,
        application_version: str | None,
        max_claims: int | None,
        now_ms: int,
        take_unversioned: bool = True,
    ) -> list[WorkflowRecord]:
        """Claim the first claimable row of each partition running nothing, oldest
        first, up to ``max_claims`` (see ``Store``)."""
        if max_claims is not None and max_claims <= 0:
            return []
        with self._lock:
            self._release_due(self._workflows.live_in_queue(queue_name), now_ms)
            queue = self._workflows.live_in_queue(queue_name)
            busy = {
                r.queue_partition_key for r in queue if r.status == WorkflowStatusString.PENDING
            }
            heads: dict[str, WorkflowRecord] = {}
            for row in sorted(queue, key=order_key):
                key = row.queue_partition_key
                if (
                    key is not None
                    and key not in busy
                    and key not in heads
                    and _claimable(row, application_version, take_unversioned)
                ):
                    heads[key] = row
            picked = list(heads.values())[:max_claims]  # gathered in dequeue order
            return self._claim_rows(picked, executor_id, application_version, now_ms)

    def _release_due(self, rows: list[WorkflowRecord], now_ms: int) -> None:
        """Release the due DELAYED rows among ``rows`` (with the lock held)."""
        for row in rows:
            if (
                row.status == WorkflowStatusString.DELAYED
                and (row.delay_until_epoch_ms or 0) <= now_ms
            ):
                self._apply(
                    row.workflow_id,
                    StatusEvent.RELEASE,
                    updated_at=now_ms,
                    # A debounced workflow gives its key back (DBOS's debouncer).
                    deduplication_id=None if row.is_debounced else row.deduplication_id,
                )

    def _claim_rows(
        self,
        rows: list[WorkflowRecord],
        executor_id: str,
        application_version: str | None,
        now_ms: int,
    ) -> list[WorkflowRecord]:
        """Claim ``rows`` (ENQUEUED, with the lock held), in their order."""
        claimed = []
        for row in rows:
            record = self.claim_workflow(row.workflow_id, executor_id, application_version, now_ms)
            assert record is not None  # ENQUEUED, under the lock
            claimed.append(record)
        return claimed

    def update_delayed(
        self, workflow_id: str, *, delay_until_epoch_ms: int, inputs: str | None, now_ms: int
    ) -> bool:
        """Move a DELAYED row's due time (and its inputs); whether there was one."""
        with self._lock:
            row = self._workflows.get(workflow_id)
            if row is None or row.status != WorkflowStatusString.DELAYED:
                return False
            self._workflows[workflow_id] = attrs.evolve(
                row,
                delay_until_epoch_ms=delay_until_epoch_ms,
                inputs=row.inputs if inputs is None else inputs,
                updated_at=now_ms,
            )
            return True

    def bounce_debounced(
        self,
        name: str,
        queue_name: str,
        deduplication_id: str,
        *,
        delay_until_epoch_ms: int,
        inputs: str,
        now_ms: int,
    ) -> str | None:
        """Push back the DELAYED debounced row holding the key (see ``Store``)."""
        with self._lock:
            for row in self._workflows.live_in_queue(queue_name):
                if (
                    row.deduplication_id == deduplication_id
                    and row.status == WorkflowStatusString.DELAYED
                    and row.is_debounced
                    and row.name == name
                ):
                    deadline = row.debounce_deadline_epoch_ms
                    until = delay_until_epoch_ms
                    if deadline is not None and deadline < until:
                        until = deadline
                    self._workflows[row.workflow_id] = attrs.evolve(
                        row, delay_until_epoch_ms=until, inputs=inputs, updated_at=now_ms
                    )
                    return row.workflow_id
            return None

    def queued_partitions(self, queue_name: str, now_ms: int) -> list[str]:
        """Partition keys with an ENQUEUED (or due DELAYED) row on ``queue_name``."""
        with self._lock:
            keys = {
                r.queue_partition_key
                for r in self._workflows.live_in_queue(queue_name)
                if r.queue_partition_key is not None
                and (
                    r.status == WorkflowStatusString.ENQUEUED
                    or (
                        r.status == WorkflowStatusString.DELAYED
                        and (r.delay_until_epoch_ms or 0) <= now_ms
                    )
                )
            }
        return sorted(keys)


def _pending(rows: list[WorkflowRecord]) -> int:
    return sum(r.status == WorkflowStatusString.PENDING for r in rows)


def _recent(rows: list[WorkflowRecord], now_ms: int, rate: RateLimit | None) -> int:
    if rate is None:
        return 0
    return sum(
        r.status not in WAITING_VALUES and in_rate_window(r.started_at_epoch_ms, now_ms, rate)
        for r in rows
    )


def _claimable(row: WorkflowRecord, application_version: str | None, unversioned: bool) -> bool:
    """Whether an executor of ``application_version`` may claim ``row`` now: ENQUEUED, and
    of its version (or of none, if it takes ``unversioned`` rows)."""
    return row.status == WorkflowStatusString.ENQUEUED and (
        application_version is None
        or (unversioned and not row.application_version)
        or row.application_version == application_version
    )
