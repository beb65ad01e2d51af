"""``make bench-scale``: what N workflows cost as N grows, on SQLite and Postgres.

Usage: ``.venv/bin/python benchmarks/scale.py [--n 1000,10000] [--db sqlite,postgres] [--rows]``.
Prints a Markdown table (paste it into ``benchmarks/SCALE.md``). For each database and
N, on a fresh system database, one process:

- **waiting**: starts N workflows that each block in ``DBOS.recv`` (time until all
  wait, per workflow), then its resident memory and thread count (their growth per
  waiting workflow), then N sends wake them all (time until every result is in);
- **recovery**: N PENDING workflows (one step recorded, as a crash leaves them) are
  recovered by a new executor: time from ``launch`` to every result, per workflow;
- **listing**: ``list_workflows`` with common filters over the 2N finished rows, each
  a page of at most 100 (median of 5 calls);
- **queue claim**: the claim statement over a queue of N ENQUEUED rows (10 at a time,
  median of 20 claims);
- **garbage collection**: ``garbage_collect`` of the 2N finished workflows, per workflow.

With ``--rows``, for N too large to start as workflows (a million), the N finished rows
(a checkpoint each) and the N waiting on the queue are written in bulk, in a few
statements, and only listing, the claim and garbage collection are measured.

A figure that is flat per item as N grows is what we want; the table says which grow.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transact import DBOS, SetWorkflowID
from transact._core.checkpoint import Checkpoint
from transact._core.queue_policy import QueueLimits
from transact._facade.launched import runtime
from transact._runtime.registry import spec_of
from transact._store.sql.store import SQLStore
from transact.maintenance import garbage_collect

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


arrived = 0
arrived_lock = threading.Lock()


@DBOS.workflow()
def scale_waiter(n: int) -> int:
    """Blocks in ``recv`` until its message comes."""
    global arrived
    with arrived_lock:
        arrived += 1
    message = DBOS.recv("go", timeout_seconds=3600)
    assert message == n
    return n


@DBOS.step()
def scale_step(n: int) -> int:
    return n + 1


@DBOS.workflow()
def scale_recovered(n: int) -> int:
    """Two steps; the first is recorded before the "crash"."""
    return scale_step(n) + scale_step(n)


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextlib.contextmanager
def fresh_database(kind: str, tag: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/scale.sqlite"
        return
    name = f"transact_scale_{tag}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield SERVER.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def launch(url: str) -> None:
    DBOS.destroy(destroy_registry=False)
    DBOS(config={"name": "scale", "system_database_url": url, "log_level": "WARNING"})
    DBOS.launch()


def median_ms(call: Callable[[], object], times: int = 5) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def wait_for(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("not reached in time")
        time.sleep(0.01)


def waiting(n: int, figures: dict[str, str]) -> None:
    global arrived
    arrived = 0
    gc.collect()
    rss0, threads0 = rss_kb(), threading.active_count()
    ids = [f"wait-{i}" for i in range(n)]
    start = time.perf_counter()
    for i, workflow_id in enumerate(ids):
        with SetWorkflowID(workflow_id):
            DBOS.start_workflow(scale_waiter, i)
    wait_for(lambda: arrived >= n, 600)  # every body has reached its recv
    started = time.perf_counter() - start
    gc.collect()
    rss1, threads1 = rss_kb(), threading.active_count()
    start = time.perf_counter()
    for i, workflow_id in enumerate(ids):
        DBOS.send(workflow_id, i, "go")
    results = [DBOS.retrieve_workflow(w).get_result() for w in ids]
    woke = time.perf_counter() - start
    assert results == list(range(n))
    figures["start N waiting, µs/wf"] = f"{started / n * 1e6:,.0f}"
    figures["memory per waiting wf, KB"] = f"{(rss1 - rss0) / n:.1f}"
    figures["threads while N wait"] = f"{threads1} (was {threads0})"
    figures["send+wake N, µs/wf"] = f"{woke / n * 1e6:,.0f}"


def recovery(url: str, n: int, figures: dict[str, str]) -> None:
    rt = runtime()
    spec = spec_of(scale_recovered)
    assert spec is not None
    ids = [f"rec-{i}" for i in range(n)]
    for i, workflow_id in enumerate(ids):
        rt.store.insert_workflow(rt.new_record(spec, workflow_id, (i,), {}))
        rt.store.record_checkpoint(
            workflow_id, Checkpoint(1, "scale_step", output=rt.serializer.serialize(i + 1))
        )
    start = time.perf_counter()
    launch(url)  # a new executor: recovers the N PENDING rows
    results = [DBOS.retrieve_workflow(w).get_result() for w in ids]
    elapsed = time.perf_counter() - start
    assert results == [2 * i + 2 for i in range(n)]
    figures["recover N pending, µs/wf"] = f"{elapsed / n * 1e6:,.0f}"


def listing(figures: dict[str, str], prefix: str = "wait-1") -> None:
    filters: dict[str, dict[str, object]] = {
        "newest 100": {"sort_desc": True},
        "status=SUCCESS": {"status": "SUCCESS"},
        "name": {"name": scale_recovered.__qualname__},
        "workflow_ids (10)": {"workflow_ids": [f"rec-{i}" for i in range(10)]},
        "id prefix": {"workflow_id_prefix": prefix},
        "queue_name": {"queue_name": "scale-backlog"},
        "time window": {"start_time": "2000-01-01T00:00:00", "end_time": "2001-01-01T00:00:00"},
    }
    for label, kwargs in filters.items():
        ms = median_ms(lambda kw=kwargs: DBOS.list_workflows(limit=100, load_input=False, **kw))  # type: ignore[misc]
        figures[f"list: {label}, ms"] = f"{ms:.2f}"


def queue_claim(n: int, figures: dict[str, str]) -> None:
    rt = runtime()
    spec = spec_of(scale_waiter)
    assert spec is not None
    for i in range(n):
        record = rt.new_record(spec, f"q-{i}", (i,), {})
        rt.store.insert_workflow(
            attrs.evolve(record, status="ENQUEUED", queue_name="scale-backlog")
        )
    claim_samples(figures)
    # The claimed rows are PENDING for an executor that does not exist: cancel them all.
    rt.store.cancel_workflows([f"q-{i}" for i in range(n)], int(time.time() * 1000))


def claim_samples(figures: dict[str, str]) -> None:
    """20 claims of 10 rows of the backlog queue: the median."""
    rt = runtime()
    samples = []
    for _ in range(20):
        start = time.perf_counter()
        claimed = rt.store.claim_queued(
            "scale-backlog",
            executor_id="scale-claimer",
            application_version=None,
            limits=QueueLimits(),
            local_running=0,
            partition_key=None,
            max_claims=10,
            now_ms=int(time.time() * 1000),
        )
        samples.append((time.perf_counter() - start) * 1000)
        assert len(claimed) == 10
    figures["claim 10 of N enqueued, ms"] = f"{statistics.median(samples):.2f}"


def collect(n: int, figures: dict[str, str]) -> None:
    start = time.perf_counter()
    deleted = garbage_collect(int(time.time() * 1000) + 1000)
    elapsed = time.perf_counter() - start
    figures["garbage-collect finished, µs/wf"] = f"{elapsed / max(deleted, 1) * 1e6:,.0f}"
    figures["(collected)"] = f"{deleted:,}"


def measure(kind: str, n: int) -> dict[str, str]:
    figures: dict[str, str] = {}
    with fresh_database(kind, str(n)) as url:
        launch(url)
        try:
            waiting(n, figures)
            recovery(url, n, figures)
            listing(figures)
            queue_claim(n, figures)
            collect(n, figures)
        finally:
            DBOS.destroy(destroy_registry=False)
    return figures


def bulk_rows(kind: str, n: int) -> float:
    """Write, in a few statements, what N workflows leave behind: N finished rows
    (``rec-<i>``, one checkpoint each) and N rows waiting on the backlog queue
    (``q-<i>``); then ANALYZE, as autovacuum would have. Returns the seconds taken."""
    prefix = "transact." if kind == "postgres" else ""
    finished, waiting = spec_of(scale_recovered), spec_of(scale_waiter)
    assert finished is not None and waiting is not None
    now = int(time.time() * 1000)
    series = f"WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n - 1})"
    statements = [
        f"""{series} INSERT INTO {prefix}workflow_status (workflow_uuid, status, name, output,
            executor_id, application_version, created_at, updated_at, completed_at,
            started_at_epoch_ms, recovery_attempts)
            SELECT 'rec-' || i, 'SUCCESS', '{finished.name}', '2', 'scale-old', 'v0',
                {now - 2 * n} + i, {now - 2 * n} + i, {now - 2 * n} + i, {now - 2 * n} + i, 1
            FROM s""",
        f"""{series} INSERT INTO {prefix}operation_outputs (workflow_uuid, function_id,
            function_name, output, started_at_epoch_ms, completed_at_epoch_ms)
            SELECT 'rec-' || i, 1, 'scale_step', '2', {now - 2 * n} + i, {now - 2 * n} + i
            FROM s""",
        f"""{series} INSERT INTO {prefix}workflow_status (workflow_uuid, status, name,
            queue_name, created_at, updated_at, recovery_attempts)
            SELECT 'q-' || i, 'ENQUEUED', '{waiting.name}', 'scale-backlog',
                {now - n} + i, {now - n} + i, 0
            FROM s""",
        "ANALYZE",
    ]
    store = runtime().store
    assert isinstance(store, SQLStore)
    start = time.perf_counter()
    with store.backend.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    return time.perf_counter() - start


def measure_rows(kind: str, n: int) -> dict[str, str]:
    """``--rows``: the figures that need only rows (listing, the claim, collection) over
    N rows written in bulk, for an N too large to start as workflows."""
    figures: dict[str, str] = {}
    with fresh_database(kind, f"rows_{n}") as url:
        launch(url)
        try:
            figures["(bulk write of 2N rows, s)"] = f"{bulk_rows(kind, n):.1f}"
            listing(figures, prefix="rec-1")
            claim_samples(figures)
            collect(n, figures)
        finally:
            DBOS.destroy(destroy_registry=False)
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="1000,10000")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument(
        "--rows",
        action="store_true",
        help="write the N rows in bulk and measure only listing, the claim and collection",
    )
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.n.split(",")]
    columns: list[tuple[str, dict[str, str]]] = []
    for kind in args.db.split(","):
        for n in sizes:
            print(f"... {kind} N={n:,}", file=sys.stderr, flush=True)
            figures = measure_rows(kind, n) if args.rows else measure(kind, n)
            columns.append((f"{kind} N={n:,}", figures))
    labels = list(dict.fromkeys(label for _, figures in columns for label in figures))
    print("| figure | " + " | ".join(name for name, _ in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for label in labels:
        cells = [figures.get(label, "") for _, figures in columns]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
