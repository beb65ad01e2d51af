"""How long the dashboard takes to answer over a big system database.

    .venv/bin/python -m benchmarks.dashboard_load [--workflows 10000]

Seeds N finished workflows (three checkpoints each, one in ten failed) straight through
the store into a fresh SQLite file and a fresh Postgres database, then times the
dashboard's API as the page calls it (in process, so the figure is the server's work:
queries, decoding, JSON): the first page of the listing with its counts per status, the
same filtered to one status, one workflow with its steps, and the queues. Prints the
median and the slowest of 10 calls of each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable

from starlette.testclient import TestClient

from tests._pg import drop_database, recreate_database
from transact import DefaultSerializer
from transact._core.checkpoint import Checkpoint
from transact._store.factory import open_store
from transact._store.records import WorkflowRecord
from transact.dashboard import dashboard_app

CALLS = 10


def seed(url: str, count: int) -> str:
    """Insert ``count`` finished workflows; return the id of one of them."""
    store = open_store(url)
    store.migrate()
    serializer = DefaultSerializer()
    output = serializer.serialize("done")
    now = int(time.time() * 1000) - count
    some_id = ""
    for n in range(count):
        workflow_id = some_id = str(uuid.uuid4())
        failed = n % 10 == 0
        store.insert_workflow(
            WorkflowRecord(
                workflow_id=workflow_id,
                status="PENDING",
                name=f"workflow_{n % 7}",
                inputs=serializer.serialize({"args": (n,), "kwargs": {}}),
                created_at=now + n,
                updated_at=now + n,
                executor_id="local",
                application_version="v1",
            )
        )
        for step in (1, 2, 3):
            store.record_checkpoint(
                workflow_id,
                Checkpoint(
                    step,
                    f"step_{step}",
                    output=output,
                    started_at_epoch_ms=now + n,
                    completed_at_epoch_ms=now + n + 1,
                ),
            )
        store.finish_workflow(
            workflow_id,
            status="ERROR" if failed else "SUCCESS",
            output=None if failed else output,
            error=serializer.serialize(ValueError("no")) if failed else None,
            now_ms=now + n + 2,
        )
    store.close()
    return some_id


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """Median and slowest of ``CALLS`` calls, in milliseconds."""
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def measure(label: str, url: str, count: int) -> None:
    started = time.perf_counter()
    one = seed(url, count)
    print(f"{label}: seeded {count:,} workflows in {time.perf_counter() - started:.0f} s")
    with TestClient(dashboard_app(url)) as client:

        def get(path: str, **params: object) -> None:
            reply = client.get(path, params=params)
            assert reply.status_code == 200, reply.text

        for name, call in [
            ("workflows page + counts", lambda: get("/api/workflows")),
            ("filtered to ERROR", lambda: get("/api/workflows", status="ERROR")),
            ("one workflow", lambda: get(f"/api/workflows/{one}")),
            ("queues", lambda: get("/api/queues")),
        ]:
            median, slowest = timed(call)
            print(f"  {name:<26} median {median:7.1f} ms   slowest {slowest:7.1f} ms")


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--workflows", type=int, default=10_000)
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure("SQLite", f"sqlite:///{folder}/dashboard.sqlite", args.workflows)
    database = "transact_bench_dashboard"
    url = recreate_database(database)  # on TRANSACT_TEST_POSTGRES_URL's server
    try:
        measure("Postgres", url, args.workflows)
    finally:
        drop_database(database)


if __name__ == "__main__":
    main()
