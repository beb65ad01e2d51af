"""Queues on every store: the claim verb against the policy, then the public API
(limits, priorities, deduplication, partitions, delays, enqueue inside workflows)."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import delete, inspect
from typing_extensions import assert_type

from transact import (
    DBOS,
    DefaultSerializer,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
    SetWorkflowTimeout,
    WorkflowHandle,
    WorkflowHandleAsync,
)
from transact._core.queue_policy import QueueLimits, RateLimit, order_key
from transact._runtime import announcer as announcer_module
from transact._runtime.announcer import QueueAnnouncer
from transact._runtime.queue_runner import QUEUES
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.runtime import Runtime
from transact._store.factory import open_store
from transact._store.protocol import Store
from transact._store.records import WorkflowRecord
from transact._store.sql.schema.status_indexes import CLAIM_INDEXES, RETIRED_QUEUE_INDEXES
from transact._store.sql.schema.tables import migrations_table
from transact._store.sql.store import SQLStore
from transact.errors import DBOSException, DBOSQueueDeduplicatedError

# --- the store verb --------------------------------------------------------------------


def queued(
    workflow_id: str,
    *,
    created_at: int,
    queue: str = "q",
    priority: int = 0,
    partition: str | None = None,
    version: str | None = "v1",
    status: str = "ENQUEUED",
    delay_until: int | None = None,
    timeout_ms: int | None = None,
) -> WorkflowRecord:
    return WorkflowRecord(
        workflow_id=workflow_id,
        status=status,
        name="wf",
        inputs="in",
        created_at=created_at,
        updated_at=created_at,
        queue_name=queue,
        priority=priority,
        queue_partition_key=partition,
        application_version=version,
        delay_until_epoch_ms=delay_until,
        workflow_timeout_ms=timeout_ms,
    )


def claim(
    store: Store,
    now: int,
    limits: QueueLimits = QueueLimits(),
    *,
    local: int = 0,
    partition: str | None = None,
    max_claims: int | None = None,
    version: str | None = "v1",
    queue: str = "q",
) -> list[str]:
    rows = store.claim_queued(
        queue,
        executor_id="e1",
        application_version=version,
        limits=limits,
        local_running=local,
        partition_key=partition,
        max_claims=max_claims,
        now_ms=now,
    )
    return [r.workflow_id for r in rows]


def finish(store: Store, workflow_id: str, now: int) -> None:
    assert store.finish_workflow(workflow_id, status="SUCCESS", output=None, error=None, now_ms=now)


def test_claim_takes_priority_then_fifo_and_sets_the_claim_columns(store: Store) -> None:
    for i, priority in enumerate([3, 0, 1, 0, 3]):
        store.insert_workflow(queued(f"w{i}", created_at=10 + i, priority=priority, timeout_ms=500))
    store.insert_workflow(queued("other-queue", created_at=1, queue="q2"))
    assert claim(store, 100, max_claims=3) == ["w1", "w3", "w2"]
    row = store.get_workflow("w1")
    assert row is not None
    assert (row.status, row.executor_id, row.started_at_epoch_ms) == ("PENDING", "e1", 100)
    assert (row.recovery_attempts, row.workflow_deadline_epoch_ms) == (1, 600)
    assert claim(store, 101) == ["w0", "w4"]
    assert claim(store, 102) == []


def test_claim_honours_global_and_worker_concurrency(store: Store) -> None:
    for i in range(6):
        store.insert_workflow(queued(f"w{i}", created_at=i))
    limits = QueueLimits(concurrency=3, worker_concurrency=2)
    assert claim(store, 10, limits) == ["w0", "w1"]
    assert claim(store, 11, limits, local=1) == ["w2"]  # 3 PENDING: the global limit
    assert claim(store, 12, limits) == []
    finish(store, "w0", 13)
    assert claim(store, 14, limits, local=2) == []  # this worker is full
    assert claim(store, 15, limits, local=1) == ["w3"]


def test_claim_honours_the_rate_limit_in_a_rolling_window(store: Store) -> None:
    for i in range(6):
        store.insert_workflow(queued(f"w{i}", created_at=i))
    limits = QueueLimits(rate_limit=RateLimit(limit=2, period_ms=100))
    assert claim(store, 1000, limits) == ["w0", "w1"]
    finish(store, "w0", 1001)  # finished dequeues still count
    assert claim(store, 1099, limits) == []
    assert claim(store, 1100, limits) == ["w2", "w3"]  # 1000 is out of (1000, 1100]
    assert claim(store, 1150, limits) == []


def test_claim_skips_other_versions_and_releases_due_delays(store: Store) -> None:
    store.insert_workflow(queued("old", created_at=1, version="v0"))
    store.insert_workflow(queued("any", created_at=2, version=None))
    store.insert_workflow(queued("later", created_at=3, status="DELAYED", delay_until=500))
    assert claim(store, 100) == ["any"]
    any_row = store.get_workflow("any")
    assert any_row is not None and any_row.application_version == "v1"
    later = store.get_workflow("later")
    assert later is not None and later.status == "DELAYED"
    assert claim(store, 500) == ["later"]
    assert claim(store, 501, version=None) == ["old"]


def test_claim_by_partition(store: Store) -> None:
    for i, key in enumerate(["a", "b", "a", "b"]):
        store.insert_workflow(queued(f"w{i}", created_at=i, partition=key))
    store.insert_workflow(
        queued("c-later", created_at=9, partition="c", status="DELAYED", delay_until=50)
    )
    assert store.queued_partitions("q", 10) == ["a", "b"]
    assert store.queued_partitions("q", 50) == ["a", "b", "c"]
    limits = QueueLimits(concurrency=1, partitioned=True)
    assert claim(store, 10, limits, partition="a") == ["w0"]
    assert claim(store, 11, limits, partition="a") == []
    assert claim(store, 12, limits, partition="b") == ["w1"]


@contextlib.contextmanager
def claimer_stores(url: str, count: int) -> Iterator[list[Store]]:
    """``count`` stores on ``url``, each with its own connections, as separate processes
    would have (the memory store lives in one process: one store, ``count`` times)."""
    memory = url.startswith("memory://")
    stores = [open_store(url) for _ in range(1 if memory else count)] * (count if memory else 1)
    for s in stores:
        s.migrate()
    try:
        yield stores
    finally:
        for s in {id(s): s for s in stores}.values():
            s.close()


def claim_from_all(
    stores: list[Store], rounds: int, claim_once: Callable[[Store], list[str]]
) -> list[str]:
    """Every store claims ``rounds`` times, all of them at once; what they claimed."""
    claimed: list[str] = []
    guard = threading.Lock()
    go = threading.Barrier(len(stores))

    def worker(s: Store) -> None:
        go.wait()
        for _ in range(rounds):
            got = claim_once(s)
            with guard:
                claimed.extend(got)

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return claimed


def test_concurrent_claimers_never_exceed_shared_limits(system_database_url: str) -> None:
    """Six claimers at once, each with its own store (its own connections, as separate
    processes would have), claiming again and again: together they take exactly what
    the global concurrency allows, then exactly what the rate limit allows."""
    with claimer_stores(system_database_url, 6) as stores:
        for i in range(40):
            stores[0].insert_workflow(queued(f"w{i:02}", created_at=i))
        limits = QueueLimits(concurrency=4)
        first = claim_from_all(stores, 5, lambda s: claim(s, 1000, limits))
        assert sorted(first) == ["w00", "w01", "w02", "w03"]
        for w in first:
            finish(stores[0], w, 1001)
        rate = QueueLimits(rate_limit=RateLimit(limit=7, period_ms=60_000))
        second = claim_from_all(stores, 5, lambda s: claim(s, 1002, rate))
        assert len(second) == len(set(second)) == 3  # 7 in the window, 4 already taken


def test_concurrent_claimers_release_and_claim_delayed_rows_once(system_database_url: str) -> None:
    """Claimers of a queue without shared limits, at once, over ENQUEUED and due DELAYED
    rows (which Postgres releases and claims in one statement): each row is claimed by
    exactly one of them, and none waits on another's locks for ever."""
    with claimer_stores(system_database_url, 4) as stores:
        for i in range(60):
            delayed = i % 2 == 1
            stores[0].insert_workflow(
                queued(
                    f"w{i:02}",
                    created_at=i,
                    status="DELAYED" if delayed else "ENQUEUED",
                    delay_until=500 if delayed else None,
                )
            )
        claimed = claim_from_all(stores, 10, lambda s: claim(s, 1000, QueueLimits(), max_claims=3))
        assert sorted(claimed) == [f"w{i:02}" for i in range(60)]


def test_migration_3_replaces_the_in_flight_indexes(system_database_url: str) -> None:
    """A database at version 2 (claims ordered by an index without the id) gets the
    waiting-row indexes, and loses the old ones, when it migrates."""
    if system_database_url.startswith("memory://"):
        pytest.skip("schema migrations are the SQL stores' concern")
    store = open_store(system_database_url)
    assert isinstance(store, SQLStore)
    engine = store.backend.engine
    schema = "transact" if engine.dialect.name == "postgresql" else None
    prefix = f"{schema}." if schema else ""
    try:
        store.migrate()
        with engine.begin() as conn:  # back to version 2's queue indexes
            for index in CLAIM_INDEXES:
                conn.exec_driver_sql(f"DROP INDEX {prefix}{index.name}")
            conn.exec_driver_sql(
                f"CREATE INDEX idx_workflow_status_in_flight ON {prefix}workflow_status "
                "(queue_name, status, priority, created_at) "
                "WHERE status IN ('ENQUEUED', 'PENDING')"
            )
            conn.execute(delete(migrations_table).where(migrations_table.c.version == 3))
        store.migrate()
        names = {
            index["name"] for index in inspect(engine).get_indexes("workflow_status", schema=schema)
        }
        assert {index.name for index in CLAIM_INDEXES} <= names
        assert names.isdisjoint(RETIRED_QUEUE_INDEXES)
        store.insert_workflow(queued("w", created_at=1))
        assert claim(store, 10) == ["w"]
    finally:
        store.close()


class Heard:
    """A second store's LISTEN thread, recording the keys it hears."""

    def __init__(self, url: str, *, serving: bool = True) -> None:
        self.store = open_store(url)
        self.keys: list[str] = []
        self.lock = threading.Lock()
        self.pushed = self.store.subscribe(self._hear)
        listener = getattr(self.store, "listener", None)
        assert listener is None or listener.wait_connected(10)
        if serving:  # as a worker process: enqueues are heard too
            self.store.serve_queue("heard")

    def _hear(self, key: str) -> None:
        with self.lock:
            self.keys.append(key)

    def count(self, key: str) -> int:
        with self.lock:
            return self.keys.count(key)

    def wait(self, key: str, at_least: int = 1, seconds: float = 5.0) -> int:
        deadline = time.monotonic() + seconds
        while self.count(key) < at_least and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.count(key)


def test_publish_reaches_subscribed_processes(store: Store, system_database_url: str) -> None:
    """``publish`` is heard by every subscribed store on Postgres, and is a harmless
    no-op elsewhere (SQLite's queue runners poll for other processes' enqueues)."""
    heard = Heard(system_database_url)
    try:
        store.publish(["queue:a", "queue:b"])
        if system_database_url.startswith("postgres"):
            assert heard.wait("queue:a") == 1
            assert heard.wait("queue:b") == 1
    finally:
        heard.store.close()


@pytest.mark.postgres
def test_enqueues_are_heard_only_by_processes_serving_queues(postgres_database_url: str) -> None:
    """A ``queue:`` key goes on the queue channel: a process that only subscribed (a
    client) does not hear it; other keys reach every subscriber."""
    worker = Heard(postgres_database_url)
    client = Heard(postgres_database_url, serving=False)
    publisher = open_store(postgres_database_url)
    try:
        publisher.publish(["queue:a", "status:x"])  # in this order
        assert worker.wait("queue:a") == 1 and worker.wait("status:x") == 1
        assert client.wait("status:x") == 1
        assert client.count("queue:a") == 0  # it would have come before ``status:x``
    finally:
        for store in (worker.store, client.store, publisher):
            store.close()


def test_announcer_coalesces_and_outlives_a_failed_publish() -> None:
    """A burst of announcements of one queue costs a notification or two, and a publish
    that fails does not stop the announcer."""
    published: list[list[str]] = []

    class FlakyStore:
        def publish(self, keys: list[str]) -> None:
            published.append(list(keys))
            if len(published) == 1:
                raise RuntimeError("the server went away")

    announcer = QueueAnnouncer(cast(Runtime, SimpleNamespace(store=FlakyStore())))
    announcer.start()
    announcer.announce("a")
    deadline = time.monotonic() + 5
    while not published and time.monotonic() < deadline:
        time.sleep(0.001)
    for _ in range(200):
        announcer.announce("b")
    announcer.stop()
    assert published[0] == ["queue:a"]
    assert ["queue:b"] in published[1:]
    assert len(published) < 20  # 200 announcements, coalesced


def test_only_updates_and_internal_inserts_notify_from_the_trigger(
    store: Store, system_database_url: str
) -> None:
    """Postgres: inserts on user queues are left to the enqueuer's announcement; a row
    made ENQUEUED by an update (a released delay) or inserted on the internal queue
    (a fork) still notifies through the trigger."""
    heard = Heard(system_database_url)
    try:
        if not heard.pushed:
            pytest.skip("the memory store lives in one process")
        store.insert_workflow(queued("plain", created_at=1, queue="user"))
        store.insert_workflow(
            queued("later", created_at=2, queue="user", status="DELAYED", delay_until=5)
        )
        store.insert_workflow(queued("forked", created_at=3, queue=INTERNAL_QUEUE))
        assert heard.wait(f"queue:{INTERNAL_QUEUE}") == 1
        assert heard.count("queue:user") == 0
        claim(store, 10, queue="user", max_claims=1)  # claims "plain", releases "later"
        assert heard.wait("queue:user") == 1
    finally:
        heard.store.close()


def _status(store: Store, workflow_id: str) -> str | None:
    row = store.get_workflow(workflow_id, load_input=False, load_output=False)
    return None if row is None else row.status


# --- the public API --------------------------------------------------------------------

lock = threading.Lock()
events: list[tuple[str, Any]] = []
running: dict[str, int] = {}
peaks: dict[str, int] = {}
gates: dict[str, threading.Event] = {}


def note(kind: str, value: Any) -> None:
    with lock:
        events.append((kind, value))


@contextlib.contextmanager
def counted(label: str) -> Iterator[None]:
    """Count the block as one more running under ``label`` (and keep its peak)."""
    with lock:
        running[label] = running.get(label, 0) + 1
        peaks[label] = max(peaks.get(label, 0), running[label])
    try:
        yield
    finally:
        with lock:
            running[label] -= 1


@DBOS.step()
def tracked(label: str, seconds: float) -> str:
    with counted(label):
        time.sleep(seconds)
    return label


@DBOS.workflow()
def busy(label: str, seconds: float) -> str:
    return tracked(label, seconds)


@DBOS.step()
def held_step(label: str) -> str:
    """Counted as running until the gate of ``label`` opens."""
    with counted(label):
        gates[label].wait(10)
    return label


@DBOS.workflow()
def held_in_line(label: str) -> str:
    return held_step(label)


@DBOS.workflow()
def record_order(tag: str) -> str:
    note("ran", tag)
    return tag


@DBOS.workflow()
def blocker(gate: str) -> str:
    gates[gate].wait(10)
    return gate


@DBOS.workflow()
def whose_thread() -> int:
    return threading.get_ident()


@DBOS.step()
def side_effect(tag: str) -> str:
    note("step", tag)
    return tag


@DBOS.workflow()
def parent_enqueuing(queue_name: str) -> list[str]:
    queue = _queues[queue_name]
    handles = [queue.enqueue(record_order, f"child-{i}") for i in range(3)]
    side_effect("after-enqueue")
    return [h.get_result() for h in handles]


_queues: dict[str, Queue] = {}


@pytest.fixture
def dbos(system_database_url: str) -> Iterator[type[DBOS]]:
    before = {q.name for q in QUEUES.all()}
    events.clear()
    running.clear()
    peaks.clear()
    DBOS.destroy()
    DBOS(config={"name": "queue-tests", "system_database_url": system_database_url})
    DBOS.launch()
    yield DBOS
    for gate in gates.values():
        gate.set()
    DBOS.destroy()
    for q in QUEUES.all():
        if q.name not in before:
            QUEUES.remove(q.name)
    _queues.clear()


def new_queue(*args: Any, **kwargs: Any) -> Queue:
    """A queue with a fresh name (queues are process-wide)."""
    queue = Queue(f"q-{uuid.uuid4().hex[:8]}", *args, **kwargs)
    _queues[queue.name] = queue
    return queue


def test_enqueues_are_announced_to_other_processes_coalesced(
    dbos: type[DBOS], system_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every enqueue wakes the runners of other processes (Postgres), but a burst of
    enqueues sends far fewer notifications than rows."""
    # A gap far longer than an enqueue, even on a loaded machine: at 5 ms, a burst whose
    # enqueues each took longer was announced once per row.
    monkeypatch.setattr(announcer_module, "ANNOUNCE_GAP_SECONDS", 0.3)
    heard = Heard(system_database_url)
    try:
        if not system_database_url.startswith("postgres"):
            pytest.skip("only Postgres announces enqueues (SQLite's runners poll)")
        queue = new_queue()
        key = f"queue:{queue.name}"
        handles = [queue.enqueue(busy, "burst", 0) for _ in range(50)]
        assert heard.wait(key) >= 1
        for handle in handles:
            handle.get_result()
        assert heard.count(key) < 50
        time.sleep(0.7)  # a quiet spell: the next enqueue is announced at once
        before = heard.count(key)  # the burst's last announcement included
        queue.enqueue(busy, "alone", 0).get_result()
        assert heard.wait(key, at_least=before + 1) == before + 1
    finally:
        heard.store.close()


def test_enqueue_runs_in_the_background_and_returns_a_typed_handle(dbos: type[DBOS]) -> None:
    queue = new_queue()
    handle = queue.enqueue(whose_thread)
    assert handle.get_result() != threading.get_ident()
    status = handle.get_status()
    assert (status.status, status.queue_name) == ("SUCCESS", queue.name)
    assert queue.enqueue(busy, "x", 0.0).get_result() == "x"


def test_global_and_worker_concurrency_hold(dbos: type[DBOS]) -> None:
    limited = new_queue(concurrency=2)
    per_worker = new_queue(worker_concurrency=3)
    gates["global"], gates["worker"] = threading.Event(), threading.Event()
    handles = [limited.enqueue(held_in_line, "global") for _ in range(8)]
    handles += [per_worker.enqueue(held_in_line, "worker") for _ in range(10)]
    # Each queue fills up to its limit (however slowly the machine runs)...
    deadline = time.monotonic() + 30
    while (running.get("global"), running.get("worker")) != (2, 3):
        assert time.monotonic() < deadline, running
        time.sleep(0.01)
    time.sleep(0.3)  # ...and no further: a runner over its limit would start more now
    assert peaks == {"global": 2, "worker": 3}
    gates["global"].set()
    gates["worker"].set()
    for h in handles:
        h.get_result()
    assert peaks == {"global": 2, "worker": 3}


def test_rate_limit_spaces_dequeues(dbos: type[DBOS]) -> None:
    queue = new_queue(limiter={"limit": 2, "period": 0.3}, polling_interval_sec=0.05)
    handles = [queue.enqueue(record_order, str(i)) for i in range(6)]
    for h in handles:
        h.get_result()
    started = sorted(s.dequeued_at or 0 for s in DBOS.list_workflows(queue_name=queue.name))
    # Any two dequeues two apart are at least a period apart.
    assert all(b - a >= 300 for a, b in zip(started, started[2:], strict=False)), started


def test_priority_then_fifo(dbos: type[DBOS]) -> None:
    queue = new_queue(concurrency=1)
    gates["prio"] = threading.Event()
    first = queue.enqueue(blocker, "prio")
    while first.get_status().status != "PENDING":
        time.sleep(0.01)
    for tag, priority in [("p5-a", 5), ("none-a", None), ("p1", 1), ("p5-b", 5), ("none-b", None)]:
        with SetEnqueueOptions(priority=priority):
            queue.enqueue(record_order, tag)
        time.sleep(0.002)  # FIFO is by enqueue time in ms (ties go by id)
    gates["prio"].set()
    while len(events) < 5:
        time.sleep(0.01)
    assert [tag for _, tag in events] == ["none-a", "none-b", "p1", "p5-a", "p5-b"]


def test_deduplication_id_is_held_while_active(dbos: type[DBOS]) -> None:
    queue = new_queue()
    gates["dedup"] = threading.Event()
    with SetEnqueueOptions(deduplication_id="d1"):
        held = queue.enqueue(blocker, "dedup")
        with pytest.raises(DBOSQueueDeduplicatedError):
            queue.enqueue(blocker, "dedup")
    other = new_queue()
    with SetEnqueueOptions(deduplication_id="d1"):
        other.enqueue(record_order, "other queue, same id").get_result()
    gates["dedup"].set()
    held.get_result()
    with SetEnqueueOptions(deduplication_id="d1"):
        assert queue.enqueue(record_order, "free again").get_result() == "free again"


@DBOS.workflow()
def parent_deduplicated(queue_name: str) -> str:
    """Enqueue a child under deduplication id "d2"; say whether the id was held."""
    try:
        with SetEnqueueOptions(deduplication_id="d2"):
            _queues[queue_name].enqueue(record_order, "child of a parent")
    except DBOSQueueDeduplicatedError:
        return side_effect("was held")
    return side_effect("was free")


def test_a_deduplicated_child_start_is_recorded_and_replayed(dbos: type[DBOS]) -> None:
    """The refused enqueue is part of the parent's history: replayed later (here by a
    fork after it), it raises again although the id is free by then."""
    queue = new_queue()
    gates["held"] = threading.Event()
    with SetEnqueueOptions(deduplication_id="d2"):
        holder = queue.enqueue(blocker, "held")
    handle = dbos.start_workflow(parent_deduplicated, queue.name)
    assert handle.get_result() == "was held"
    [start, _] = dbos.list_workflow_steps(handle.workflow_id)
    assert start["error"] is not None and start["child_workflow_id"] is None
    gates["held"].set()
    holder.get_result()  # the id is free now
    forked = dbos.fork_workflow(handle.workflow_id, 2)
    assert forked.get_result() == "was held"


def test_partitions_limit_each_key(dbos: type[DBOS]) -> None:
    queue = new_queue(concurrency=1, partition_queue=True)
    handles = []
    for key in ["a", "b", "a", "b"]:
        with SetEnqueueOptions(queue_partition_key=key):
            handles.append(queue.enqueue(busy, f"part-{key}", 0.05))
    for h in handles:
        h.get_result()
    assert peaks == {"part-a": 1, "part-b": 1}
    with pytest.raises(ValueError, match="partitioned"):
        queue.enqueue(record_order, "no key")
    with (
        SetEnqueueOptions(queue_partition_key="a"),
        pytest.raises(ValueError, match="not partitioned"),
    ):
        new_queue().enqueue(record_order, "key on a plain queue")


def test_delayed_start(dbos: type[DBOS]) -> None:
    queue = new_queue(polling_interval_sec=0.05)
    with SetEnqueueOptions(delay_seconds=0.3):
        handle = queue.enqueue(record_order, "late")
    status = handle.get_status()
    assert status.status == "DELAYED"
    assert [s.workflow_id for s in DBOS.list_queued_workflows(queue_name=queue.name)] == [
        handle.workflow_id
    ]
    assert handle.get_result(polling_interval_sec=0.05) == "late"
    row = handle.get_status()
    assert (row.dequeued_at or 0) - (row.created_at or 0) >= 300


def test_app_version_pins_the_executor(dbos: type[DBOS]) -> None:
    queue = new_queue(polling_interval_sec=0.05)
    with SetEnqueueOptions(app_version="some-other-version"):
        handle = queue.enqueue(record_order, "pinned")
    time.sleep(0.3)
    assert handle.get_status().status == "ENQUEUED"
    assert [s.workflow_id for s in DBOS.list_queued_workflows(status="ENQUEUED")] == [
        handle.workflow_id
    ]


def test_enqueue_options_are_validated(dbos: type[DBOS]) -> None:
    for bad in (0, -1, 2**31, True):
        with pytest.raises(ValueError, match="priority"):
            SetEnqueueOptions(priority=bad)
    with pytest.raises(ValueError, match="delay"):
        SetEnqueueOptions(delay_seconds=-1)
    with pytest.raises(ValueError, match="deduplication"):
        SetEnqueueOptions(deduplication_id="d", queue_partition_key="p")
    with (
        SetEnqueueOptions(priority=3),
        pytest.raises(
            DBOSException,
            match=r"Enqueue option\(s\) priority set on a workflow that is not being enqueued",
        ),
    ):
        DBOS.start_workflow(record_order, "not queued")
    with SetEnqueueOptions(app_version="v"):  # not queue-only: a direct start may use it
        assert DBOS.start_workflow(record_order, "direct").get_result() == "direct"


def test_queue_options_are_validated() -> None:
    name = f"v-{uuid.uuid4().hex[:8]}"
    for kwargs in (
        {"concurrency": 0},
        {"worker_concurrency": -1},
        {"concurrency": 1, "worker_concurrency": 2},
        {"limiter": {"limit": 1}},
        {"limiter": {"limit": 0, "period": 1}},
        {"limiter": {"limit": 1, "period": 0}},
        {"polling_interval_sec": 0},
    ):
        with pytest.raises(ValueError):
            Queue(name, **kwargs)
    Queue(name)
    try:
        with pytest.raises(DBOSException, match="already exists"):
            Queue(name)
        with pytest.raises(DBOSException, match="reserved"):
            Queue(INTERNAL_QUEUE)
    finally:
        QUEUES.remove(name)


def test_enqueue_inside_a_workflow_is_a_checkpointed_child(dbos: type[DBOS]) -> None:
    queue = new_queue()
    with SetWorkflowID("parent-q"):
        assert parent_enqueuing(queue.name) == ["child-0", "child-1", "child-2"]
    steps = DBOS.list_workflow_steps("parent-q")
    assert [(s["function_id"], s["child_workflow_id"]) for s in steps[:3]] == [
        (1, "parent-q-1"),
        (2, "parent-q-2"),
        (3, "parent-q-3"),
    ]
    child = DBOS.retrieve_workflow("parent-q-1").get_status()
    assert (child.queue_name, child.parent_workflow_id) == (queue.name, "parent-q")
    # Run the same workflow id again: it returns the recorded result, enqueuing nothing.
    with SetWorkflowID("parent-q"):
        assert parent_enqueuing(queue.name) == ["child-0", "child-1", "child-2"]
    assert sorted(t for k, t in events if k == "ran") == ["child-0", "child-1", "child-2"]


def test_timeout_of_an_enqueued_workflow_counts_from_its_dequeue(dbos: type[DBOS]) -> None:
    queue = new_queue(polling_interval_sec=0.05)
    with SetEnqueueOptions(delay_seconds=0.3), SetWorkflowTimeout(5.0):
        handle = queue.enqueue(record_order, "timed")
    assert handle.get_status().workflow_deadline_epoch_ms is None
    handle.get_result(polling_interval_sec=0.05)
    status = handle.get_status()
    assert status.workflow_deadline_epoch_ms == (status.dequeued_at or 0) + 5000


def test_queue_declared_after_launch_is_served(dbos: type[DBOS]) -> None:
    assert new_queue().enqueue(record_order, "late queue").get_result() == "late queue"


def test_internal_queue_runs_rows_other_processes_enqueue(
    dbos: type[DBOS], system_database_url: str
) -> None:
    store = open_store(system_database_url)
    try:
        rt_serializer = DefaultSerializer()
        store.insert_workflow(
            WorkflowRecord(
                workflow_id="from-elsewhere",
                status="ENQUEUED",
                name="record_order",
                inputs=rt_serializer.serialize({"args": ("elsewhere",), "kwargs": {}}),
                serialization=rt_serializer.name(),
                queue_name=INTERNAL_QUEUE,
                created_at=int(time.time() * 1000),
                updated_at=int(time.time() * 1000),
            )
        )
    finally:
        if not system_database_url.startswith("memory://"):
            store.close()
    handle = DBOS.retrieve_workflow("from-elsewhere")
    assert handle.get_result(polling_interval_sec=0.05) == "elsewhere"


def test_recovered_queued_workflows_count_against_the_worker_limit(
    system_database_url: str,
) -> None:
    """Workflows a crash left PENDING on this executor are recovered at launch and count
    against worker_concurrency before anything new is claimed."""
    queue = Queue(f"rec-{uuid.uuid4().hex[:8]}", worker_concurrency=2)
    store = open_store(system_database_url)
    store.migrate()
    serializer = DefaultSerializer()
    try:
        inputs = serializer.serialize({"args": ("recovery", 0.1), "kwargs": {}})
        now = int(time.time() * 1000)
        for i in range(6):
            store.insert_workflow(
                WorkflowRecord(
                    workflow_id=f"r{i}",
                    status="PENDING" if i < 2 else "ENQUEUED",
                    name="busy",
                    inputs=inputs,
                    serialization=serializer.name(),
                    queue_name=queue.name,
                    executor_id="local" if i < 2 else None,
                    application_version="v-rec",
                    created_at=now + i,
                    updated_at=now + i,
                    recovery_attempts=1 if i < 2 else 0,
                )
            )
        peaks.clear()
        DBOS.destroy()
        DBOS(
            config={
                "name": "queue-tests",
                "system_database_url": system_database_url,
                "application_version": "v-rec",
            }
        )
        DBOS.launch()
        for i in range(6):
            DBOS.retrieve_workflow(f"r{i}").get_result(polling_interval_sec=0.05)
        assert peaks["recovery"] == 2
    finally:
        DBOS.destroy()
        QUEUES.remove(queue.name)
        if not system_database_url.startswith("memory://"):
            store.close()


def test_list_queued_workflows_shows_the_line(dbos: type[DBOS]) -> None:
    queue = new_queue(concurrency=1)
    gates["line"] = threading.Event()
    first = queue.enqueue(blocker, "line")
    while first.get_status().status != "PENDING":
        time.sleep(0.01)
    waiting = [queue.enqueue(record_order, str(i)) for i in range(3)]
    line = DBOS.list_queued_workflows(queue_name=queue.name)
    # Ordered by enqueue time: same-millisecond enqueues may come in any order.
    assert {(s.workflow_id, s.status) for s in line} == {(first.workflow_id, "PENDING")} | {
        (h.workflow_id, "ENQUEUED") for h in waiting
    }
    assert DBOS.list_queued_workflows(queue_name="no-such-queue") == []
    gates["line"].set()
    for h in waiting:
        h.get_result()
    assert DBOS.list_queued_workflows(queue_name=queue.name) == []


def test_order_key_is_the_documented_order() -> None:
    rows = [queued("b", created_at=1), queued("a", created_at=1), queued("c", created_at=0)]
    assert [r.workflow_id for r in sorted(rows, key=order_key)] == ["c", "a", "b"]


@pytest.mark.slow
def test_example_runs_as_documented(tmp_path: pathlib.Path) -> None:
    example = pathlib.Path(__file__).parents[1] / "examples" / "queues.py"
    done = subprocess.run(
        [sys.executable, str(example), f"sqlite:///{tmp_path}/example.sqlite"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "duplicate request for img-42 refused" in done.stdout
    assert "rendered 14 thumbnails" in done.stdout
    assert "at most 3 at once (limit 3)" in done.stdout


@DBOS.workflow()
async def async_double(n: int) -> int:
    return n * 2


def test_enqueue_is_typed_like_start_workflow(dbos: type[DBOS]) -> None:
    queue = new_queue()
    handle = queue.enqueue(async_double, 21)
    assert_type(handle, WorkflowHandle[int])
    assert handle.get_result() == 42
    assert_type(queue.enqueue(busy, "typed", 0.0), WorkflowHandle[str])
    # mypy rejects a wrong argument type (mypy fails on an ignore that is not needed).
    queue.enqueue(busy, 1, 0.0)  # type: ignore[call-overload]


def test_enqueue_async_does_not_block_the_loop(dbos: type[DBOS]) -> None:
    queue = new_queue()

    async def main() -> int:
        handle = await queue.enqueue_async(async_double, 5)
        assert_type(handle, WorkflowHandleAsync[int])
        return await handle.get_result()

    assert asyncio.run(main()) == 10


def test_runners_leave_the_global_random_state_alone(dbos: type[DBOS]) -> None:
    """A queue runner jitters its polls with a generator of its own: an application's
    seeded ``random`` (or Hypothesis drawing data) must not see it move."""
    queue = new_queue(polling_interval_sec=0.01)
    partitioned = new_queue(polling_interval_sec=0.01, partition_concurrency=1)
    state = random.getstate()
    assert queue.enqueue(busy, "jitter", 0.0).get_result() == "jitter"
    handles = []
    for key in ("a", "b", "c"):  # the runner shuffles the partitions it claims from
        with SetEnqueueOptions(queue_partition_key=key):
            handles.append(partitioned.enqueue(busy, key, 0.0))
    assert [h.get_result() for h in handles] == ["a", "b", "c"]
    time.sleep(0.1)  # several polls of idle runners
    assert random.getstate() == state
