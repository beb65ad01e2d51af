"""The workloads of ``make bench-compare``, written once against DBOS's API.

``python benchmarks/compare_workloads.py LIBRARY URL`` imports ``DBOS`` and ``Queue``
from ``transact`` or from ``dbos`` (the released package, in its own environment), runs
every workload on the system database at URL and prints one JSON object: each figure by
name. The code is the same for both libraries apart from that import, which is the
porting promise put to work.
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typed as transact's; at run time whichever library is asked for
    from transact import DBOS, Queue, SetWorkflowID
else:
    _lib = importlib.import_module(sys.argv[1])
    DBOS, Queue, SetWorkflowID = _lib.DBOS, _lib.Queue, _lib.SetWorkflowID

URL = sys.argv[2] if len(sys.argv) > 2 else ""

STEPS = 10
CALLS = 200
STARTS = 500
ROUND_TRIPS = 200
STREAM_VALUES = 500
QUEUED = 1000

latencies: list[float] = []


@DBOS.step()
def nothing() -> None:
    return None


@DBOS.workflow()
def empty_workflow() -> None:
    return None


@DBOS.workflow()
def ten_steps() -> None:
    for _ in range(STEPS):
        nothing()


@DBOS.workflow()
def receiver(count: int) -> None:
    for _ in range(count):
        sent = DBOS.recv("ping", timeout_seconds=30)
        latencies.append(time.monotonic() - sent)


@DBOS.workflow()
def stream_writer(count: int) -> None:
    for i in range(count):
        DBOS.write_stream("values", i)
    DBOS.close_stream("values")


@DBOS.workflow()
def one_step() -> None:
    nothing()


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def declare_queue() -> Any:
    """DBOS 3 declares queues in the database (``register_queue``); DBOS 2 in code."""
    if hasattr(DBOS, "register_queue"):
        return DBOS.register_queue("compare-queue", worker_concurrency=50)
    return Queue("compare-queue", worker_concurrency=50)


def measure(queue: Any) -> dict[str, float]:
    figures: dict[str, float] = {}
    empty_workflow()
    ten_steps()  # warm up
    empty = seconds(lambda: [empty_workflow() for _ in range(CALLS)])
    stepped = seconds(lambda: [ten_steps() for _ in range(CALLS)])
    figures["empty workflow (ms)"] = 1000 * empty / CALLS
    figures["step (ms)"] = 1000 * (stepped - empty) / (CALLS * STEPS)

    def start_all() -> None:
        handles = [DBOS.start_workflow(empty_workflow) for _ in range(STARTS)]
        for handle in handles:
            handle.get_result()

    figures["start_workflow (/s)"] = STARTS / seconds(start_all)

    workflow_id = f"receiver-{uuid.uuid4()}"
    with SetWorkflowID(workflow_id):
        handle = DBOS.start_workflow(receiver, ROUND_TRIPS)
    for _ in range(ROUND_TRIPS):
        before = len(latencies)
        DBOS.send(workflow_id, time.monotonic(), "ping")
        while len(latencies) == before:
            time.sleep(0.0002)
    handle.get_result()
    figures["send->recv (ms)"] = 1000 * statistics.median(latencies)

    writer_id = f"writer-{uuid.uuid4()}"
    with SetWorkflowID(writer_id):
        written = seconds(lambda: stream_writer(STREAM_VALUES))
    figures["stream write (ms)"] = 1000 * written / STREAM_VALUES
    # The median of five reads of the finished stream: one read of 500 values lasts a
    # millisecond or two, so a single one mostly measured the first call's set-up.
    read = statistics.median(
        seconds(lambda: list(DBOS.read_stream(writer_id, "values"))) for _ in range(5)
    )
    figures["stream read (/s)"] = STREAM_VALUES / read

    def drain_queue() -> None:
        handles = [queue.enqueue(one_step) for _ in range(QUEUED)]
        for handle in handles:
            handle.get_result()

    figures["queue, one process (/s)"] = QUEUED / seconds(drain_queue)
    return figures


def main() -> None:
    DBOS(config={"name": "bench-compare", "system_database_url": URL})
    DBOS.launch()
    try:
        result = measure(declare_queue())
    finally:
        DBOS.destroy()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
