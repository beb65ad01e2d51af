"""Queues: workflows of one trivial step through a ``Queue``, with 1 and 3 worker processes.

The main process declares the queue, enqueues M workflows and awaits every result; it
dequeues too, so "3 worker processes" is the main process and two ``benchmarks.peer``
queue workers. Workflows per second, from the first enqueue to the last result. A last
row is the enqueue alone: a ``DBOSClient`` enqueueing from 32 threads at once.

Against a build without ``transact.Queue``, the rows say "not available yet".
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import transact
from benchmarks.app import one_step_workflow
from benchmarks.common import Context, Database, Row, launched, ratio_row, timed, unavailable
from benchmarks.peer import peer

FAMILY = "queues"
QUEUE_NAME = "bench_queue"
PARTITIONED_QUEUE_NAME = "bench_partitioned_queue"
PARTITIONS = 100
TARGET_RATE = 2000.0  # with three workers, on Postgres
WORKER_COUNTS = (1, 3)
ENQUEUE_THREADS = 32

_queue: Any = None
_partitioned: Any = None


def queue_class() -> Any:
    """``transact.Queue``, or None while queues do not exist."""
    return getattr(transact, "Queue", None)


def declare_queue() -> Any:
    """The benchmark queue, declared once per process (before ``DBOS.launch()``)."""
    global _queue
    if _queue is None:
        _queue = queue_class()(QUEUE_NAME)
    return _queue


def declare_partitioned_queue() -> Any:
    """A queue with DBOS 3's per-partition limit (one running workflow per key)."""
    global _partitioned
    if _partitioned is None:
        _partitioned = queue_class()(PARTITIONED_QUEUE_NAME, partition_concurrency=1)
    return _partitioned


def run(ctx: Context, db: Database) -> list[Row]:
    names = [f"queue throughput, {n} worker process{'es' if n > 1 else ''}" for n in WORKER_COUNTS]
    if queue_class() is None:
        return [
            unavailable(FAMILY, name, db, "not available yet (transact.Queue)") for name in names
        ]
    sizes = ctx.sizes
    count = sizes.queued
    queue = declare_queue()
    rows: list[Row] = []
    for workers, name in zip(WORKER_COUNTS, names, strict=True):
        floors: list[float] = []
        rates: list[float] = []
        with launched(db.url), contextlib.ExitStack() as stack:
            others = [
                stack.enter_context(peer("queue-worker", db.url, "queue", 0, 1))
                for _ in range(workers - 1)
            ]
            for other in others:
                other.expect("ready 0")

            def enqueue_all() -> None:
                handles = [queue.enqueue(one_step_workflow) for _ in range(count)]
                for handle in handles:
                    handle.get_result()

            for _ in range(min(sizes.reps, 3)):
                floors.append(db.floor.commit_ms(sizes.floor_commits))
                rates.append(count / timed(enqueue_all))
        target = TARGET_RATE if workers == 3 and db.kind == "postgres" else None
        rows.append(
            ratio_row(
                FAMILY,
                name,
                db,
                rates,
                "/s",
                floors,
                min_rate=target,
                note=f"{count} workflows per run",
            )
        )
    rows.append(_partitioned_row(ctx, db))
    rows.append(_concurrent_enqueue_row(ctx, db))
    return rows


def _concurrent_enqueue_row(ctx: Context, db: Database) -> Row:
    """``DBOSClient.enqueue`` from many threads at once (a web server's handlers), on a
    queue nobody serves: what the enqueue itself sustains."""
    name = f"client enqueue throughput, {ENQUEUE_THREADS} threads"
    client_class = getattr(transact, "DBOSClient", None)
    if client_class is None:
        return unavailable(FAMILY, name, db, "not available yet (DBOSClient)")
    per_thread = max(1, ctx.sizes.queued // ENQUEUE_THREADS)
    options = {"workflow_name": "bench_unserved", "queue_name": "bench_unserved_queue"}
    client = client_class(system_database_url=db.url)
    floors: list[float] = []
    rates: list[float] = []
    try:

        def enqueue_some() -> None:
            for _ in range(per_thread):
                client.enqueue(options)

        def enqueue_all() -> None:
            threads = [threading.Thread(target=enqueue_some) for _ in range(ENQUEUE_THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        enqueue_all()  # warm up (connections, statements)
        for _ in range(min(ctx.sizes.reps, 3)):
            floors.append(db.floor.commit_ms(ctx.sizes.floor_commits))
            rates.append(per_thread * ENQUEUE_THREADS / timed(enqueue_all))
    finally:
        client.destroy()
    note = f"{per_thread * ENQUEUE_THREADS} enqueues per run"
    return ratio_row(FAMILY, name, db, rates, "/s", floors, note=note)


def _partitioned_row(ctx: Context, db: Database) -> Row:
    """The same workload on a queue with ``partition_concurrency=1`` over 100 keys."""
    name = f"partitioned queue throughput, {PARTITIONS} partitions, 1 worker process"
    try:
        queue = declare_partitioned_queue()
    except TypeError:
        return unavailable(FAMILY, name, db, "not available yet (partition_concurrency)")
    sizes = ctx.sizes
    count = sizes.queued
    floors: list[float] = []
    rates: list[float] = []
    with launched(db.url):

        def enqueue_all() -> None:
            handles = []
            for i in range(count):
                with transact.SetEnqueueOptions(queue_partition_key=f"p{i % PARTITIONS}"):
                    handles.append(queue.enqueue(one_step_workflow))
            for handle in handles:
                handle.get_result()

        for _ in range(min(sizes.reps, 3)):
            floors.append(db.floor.commit_ms(sizes.floor_commits))
            rates.append(count / timed(enqueue_all))
    return ratio_row(FAMILY, name, db, rates, "/s", floors, note=f"{count} workflows per run")
