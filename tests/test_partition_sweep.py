"""The one-statement claim of a queue whose partitions each run one workflow at a time
(``Store.claim_partition_heads``, ``queue_policy.sweeps_heads``), on every store."""

from __future__ import annotations

from tests.test_queues import claim_from_all, claimer_stores, finish, queued
from transact._core.queue_policy import QueueLimits, RateLimit, sweep_budget, sweeps_heads
from transact._store.protocol import Store


def sweep(
    store: Store,
    now: int,
    *,
    max_claims: int | None = None,
    version: str | None = "v1",
    take_unversioned: bool = True,
) -> list[str]:
    rows = store.claim_partition_heads(
        "q",
        executor_id="e1",
        application_version=version,
        max_claims=max_claims,
        now_ms=now,
        take_unversioned=take_unversioned,
    )
    assert all(r.status == "PENDING" and r.executor_id == "e1" for r in rows)
    return [r.workflow_id for r in rows]


def test_which_queues_are_swept() -> None:
    assert sweeps_heads(QueueLimits(partition_concurrency=1))
    assert sweeps_heads(QueueLimits(concurrency=1, partitioned=True))  # DBOS's legacy flag
    assert sweeps_heads(QueueLimits(partition_concurrency=1, worker_concurrency=5))
    assert not sweeps_heads(QueueLimits(partition_concurrency=2))
    assert not sweeps_heads(QueueLimits(partition_concurrency=1, concurrency=10))
    limiter = RateLimit(limit=5, period_ms=1000)
    assert not sweeps_heads(QueueLimits(partition_concurrency=1, partition_rate_limit=limiter))
    assert not sweeps_heads(QueueLimits(partition_concurrency=1, rate_limit=limiter))
    assert not sweeps_heads(QueueLimits(partition_worker_concurrency=1))
    assert not sweeps_heads(QueueLimits(concurrency=1))


def test_a_sweep_is_capped_by_the_queue_not_by_the_partitions() -> None:
    """The partitions' limit of one is the sweep's to keep: only the queue's per-process
    limit, less what runs here, and the caller's cap bound how many heads one takes."""
    per_partition = QueueLimits(partition_concurrency=1)
    assert sweep_budget(per_partition, local_running=7, max_claims=100) == 100
    capped = QueueLimits(partition_concurrency=1, worker_concurrency=10)
    assert sweep_budget(capped, local_running=7, max_claims=100) == 3
    assert sweep_budget(capped, local_running=12, max_claims=100) == 0
    assert sweep_budget(QueueLimits(concurrency=1, partitioned=True), 50, 20) == 20


def test_the_first_row_of_each_idle_partition_oldest_first(store: Store) -> None:
    for i, key in enumerate("abcabc"):
        store.insert_workflow(queued(f"{key}{i}", created_at=10 + i, partition=key))
    store.insert_workflow(queued("busy-run", created_at=1, partition="busy", status="PENDING"))
    store.insert_workflow(queued("busy-next", created_at=2, partition="busy"))
    store.insert_workflow(queued("urgent", created_at=50, partition="u", priority=-1))
    store.insert_workflow(queued("plain", created_at=0))  # no partition: never swept
    assert sweep(store, 100) == ["urgent", "a0", "b1", "c2"]
    assert sweep(store, 101) == []  # every partition runs one now
    finish(store, "b1", 102)
    assert sweep(store, 103) == ["b4"]


def test_at_most_max_claims_heads(store: Store) -> None:
    for i, key in enumerate("dcba"):
        store.insert_workflow(queued(f"{key}0", created_at=i, partition=key))
    assert sweep(store, 100, max_claims=0) == []
    assert sweep(store, 100, max_claims=2) == ["d0", "c0"]
    assert sweep(store, 100, max_claims=5) == ["b0", "a0"]


def test_due_delayed_rows_are_released_and_claimed(store: Store) -> None:
    store.insert_workflow(
        queued("late", created_at=1, partition="a", status="DELAYED", delay_until=500)
    )
    store.insert_workflow(
        queued("later", created_at=2, partition="a", status="DELAYED", delay_until=900)
    )
    store.insert_workflow(
        queued("due", created_at=3, partition="b", status="DELAYED", delay_until=10)
    )
    store.insert_workflow(
        queued("due-too", created_at=4, partition="b", status="DELAYED", delay_until=20)
    )
    assert sweep(store, 100) == ["due"]
    row = store.get_workflow("due-too")
    assert row is not None and row.status == "ENQUEUED"  # released, waits for its turn
    assert sweep(store, 600) == ["late"]


def test_versions_are_honoured(store: Store) -> None:
    store.insert_workflow(queued("old", created_at=1, partition="a", version="v0"))
    store.insert_workflow(queued("mine", created_at=2, partition="a", version="v1"))
    store.insert_workflow(queued("anyone", created_at=3, partition="b", version=None))
    assert sweep(store, 100, take_unversioned=False) == ["mine"]
    assert sweep(store, 101) == ["anyone"]
    assert sweep(store, 102, version=None) == []  # both partitions busy now


def test_concurrent_sweepers_start_one_row_per_partition(system_database_url: str) -> None:
    """Four sweepers at once, each with its own store (its own connections, as separate
    processes would have), again and again: each partition starts exactly one row, and
    the next one only after it finished."""
    with claimer_stores(system_database_url, 4) as stores:
        for p in range(6):
            for i in range(5):
                stores[0].insert_workflow(
                    queued(f"p{p}-{i}", created_at=10 * i + p, partition=f"p{p}")
                )
        first = claim_from_all(stores, 5, lambda s: sweep(s, 1000))
        assert sorted(first) == [f"p{p}-0" for p in range(6)]
        for workflow_id in first:
            finish(stores[0], workflow_id, 1001)
        second = claim_from_all(stores, 5, lambda s: sweep(s, 1002))
        assert sorted(second) == [f"p{p}-1" for p in range(6)]
