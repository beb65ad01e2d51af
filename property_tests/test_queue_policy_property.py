"""The queue policy, through the store that applies it: random enqueues, claims by
several workers, completions and passing time never exceed a limit, and every claim
takes the best-ranked candidates (priority, then age).

Limits hold for the whole queue and, on a partitioned queue, per partition key: DBOS's
legacy ``partitioned`` flag (every limit per partition) and DBOS 3's ``partition_*``
limits on top of queue-wide ones (``QueueLimits.scopes``).

The memory store is the model the SQL stores are checked against
(``test_store_state_machine``), so a property of the model holds for them too.
"""

from __future__ import annotations

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.strategies import POLICY_LIMITS as LIMITS
from transact._core.queue_policy import QueueLimits, Scope, order_key
from transact._store.memory import MemoryStore
from transact._store.records import WorkflowRecord

WORKERS = ("w1", "w2", "w3")
PARTITIONS = ("a", "b", "c")


def _bounded(limits: QueueLimits) -> QueueLimits:
    """``limits`` made valid: no per-worker limit above its global one, no partition
    limit above the queue's (as ``validate_limits`` requires)."""

    def cap(value: int | None, *bounds: int | None) -> int | None:
        present = [b for b in bounds if b is not None]
        return value if value is None or not present else min([value, *present])

    worker = cap(limits.worker_concurrency, limits.concurrency)
    partition = cap(limits.partition_concurrency, limits.concurrency)
    return attrs.evolve(
        limits,
        worker_concurrency=worker,
        partition_concurrency=partition,
        partition_worker_concurrency=cap(
            limits.partition_worker_concurrency, partition, worker, limits.concurrency
        ),
    )


class QueueNeverExceedsItsLimits(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.limits = QueueLimits()
        self.now = 1_000
        self.count = 0
        # worker -> ids it runs (PENDING and not yet completed)
        self.running: dict[str, set[str]] = {w: set() for w in WORKERS}
        self.dequeues: list[tuple[int, str | None]] = []  # (time, partition)

    @initialize(limits=LIMITS)
    def declare(self, limits: QueueLimits) -> None:
        self.limits = _bounded(limits)

    @rule(priority=st.sampled_from([0, 0, 1, 5]), partition=st.sampled_from(PARTITIONS))
    def enqueue(self, priority: int, partition: str) -> None:
        self.count += 1
        self.store.insert_workflow(
            WorkflowRecord(
                workflow_id=f"wf{self.count:03}",
                status="ENQUEUED",
                name="wf",
                created_at=self.now,
                updated_at=self.now,
                queue_name="q",
                queue_partition_key=partition if self.limits.by_partition else None,
                priority=priority,
            )
        )

    @rule(seconds=st.integers(1, 80))
    def tick(self, seconds: int) -> None:
        self.now += seconds

    @rule(worker=st.sampled_from(WORKERS), partition=st.sampled_from(PARTITIONS))
    def claim(self, worker: str, partition: str) -> None:
        key = partition if self.limits.by_partition else None
        total = len(self.running[worker])
        local = self._local(worker, key)
        before = self._waiting(key)
        claimed = self.store.claim_queued(
            "q",
            executor_id=worker,
            application_version=None,
            limits=self.limits,
            local_running=total,
            partition_key=key,
            max_claims=None,
            now_ms=self.now,
            partition_local_running=local,
        )
        ids = [r.workflow_id for r in claimed]
        # Best first: the batch is in order and nothing left waiting outranks it.
        assert ids == [r.workflow_id for r in sorted(claimed, key=order_key)]
        left = [r for r in before if r.workflow_id not in ids]
        if claimed and left:
            assert order_key(claimed[-1]) < min(order_key(r) for r in left)
        self.running[worker].update(ids)
        self.dequeues.extend((self.now, key) for _ in ids)
        # Work-conserving: a claim stops only at a limit or an empty line.
        if left:
            assert self._at_a_limit(worker, key)

    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        busy = sorted((w, wid) for w, ids in self.running.items() for wid in ids)
        if not busy:
            return
        worker, wid = data.draw(st.sampled_from(busy))
        self.store.finish_workflow(wid, status="SUCCESS", output=None, error=None, now_ms=self.now)
        self.running[worker].discard(wid)

    @invariant()
    def limits_hold(self) -> None:
        queue_wide, partition = self.limits.scopes()
        self._holds(queue_wide, None)
        if self.limits.by_partition:
            for key in PARTITIONS:
                self._holds(partition, key)

    # --- helpers ---------------------------------------------------------------------

    def _holds(self, scope: Scope, key: str | None) -> None:
        if scope.concurrency is not None:
            assert len(self._pending(key)) <= scope.concurrency
        if scope.worker_concurrency is not None:
            for worker in WORKERS:
                assert self._local(worker, key) <= scope.worker_concurrency
        rate = scope.rate_limit
        if rate is not None:
            times = sorted(t for t, k in self.dequeues if key is None or k == key)
            # Any limit + 1 dequeues span at least a whole period.
            for first, last in zip(times, times[rate.limit :], strict=False):
                assert last - first >= rate.period_ms

    def _row(self, workflow_id: str) -> WorkflowRecord:
        row = self.store.get_workflow(workflow_id)
        assert row is not None
        return row

    def _local(self, worker: str, key: str | None) -> int:
        return sum(
            1
            for wid in self.running[worker]
            if key is None or self._row(wid).queue_partition_key == key
        )

    def _rows(self, key: str | None) -> list[WorkflowRecord]:
        return [
            self._row(f"wf{i:03}")
            for i in range(1, self.count + 1)
            if key is None or self._row(f"wf{i:03}").queue_partition_key == key
        ]

    def _waiting(self, key: str | None) -> list[WorkflowRecord]:
        return [r for r in self._rows(key) if r.status == "ENQUEUED"]

    def _pending(self, key: str | None) -> list[WorkflowRecord]:
        return [r for r in self._rows(key) if r.status == "PENDING"]

    def _at_a_limit(self, worker: str, key: str | None) -> bool:
        queue_wide, partition = self.limits.scopes()
        return self._full(queue_wide, worker, None) or (
            key is not None and self._full(partition, worker, key)
        )

    def _full(self, scope: Scope, worker: str, key: str | None) -> bool:
        worker_limit = scope.worker_concurrency
        if worker_limit is not None and self._local(worker, key) >= worker_limit:
            return True
        if scope.concurrency is not None and len(self._pending(key)) >= scope.concurrency:
            return True
        rate = scope.rate_limit
        if rate is not None:
            recent = [
                t
                for t, k in self.dequeues
                if (key is None or k == key) and t > self.now - rate.period_ms
            ]
            return len(recent) >= rate.limit
        return False


QueueNeverExceedsItsLimits.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_queue_never_exceeds_its_limits = QueueNeverExceedsItsLimits.TestCase
