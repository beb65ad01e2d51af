"""One soak worker: ``python -m benchmarks.soak.worker URL INDEX WORKERS N CONCURRENCY``.

Declares the soak queue (a global concurrency limit, no per-worker limit), launches with
executor id ``w<INDEX>`` (a restarted worker recovers what it had claimed), enqueues its
share of the N workflows (idempotent: ids ``soak-<i>``, so a restarted worker enqueues
again what it may have missed) and serves the queue until it is killed.
"""

from __future__ import annotations

import random
import sys
import threading
import time

import psycopg

from transact import DBOS, DBOSConfig, Queue, SetWorkflowID

URL = sys.argv[1] if __name__ == "__main__" else ""
queue: Queue | None = None


def log_step_run(workflow_id: str, step: str) -> None:
    """Record that ``step`` of ``workflow_id`` started now (on its own connection, so it
    is kept even if the step's checkpoint is not): the re-run-after-commit check."""
    while True:
        try:
            with psycopg.connect(URL, autocommit=True, connect_timeout=5) as conn:
                conn.execute(
                    "INSERT INTO soak_step_runs (wf, step, started_ms) VALUES (%s, %s, %s)",
                    (workflow_id, step, int(time.time() * 1000)),
                )
            return
        except psycopg.Error:
            time.sleep(0.2)  # the server is restarting


@DBOS.step()
def step_one(x: int) -> int:
    log_step_run(DBOS.workflow_id or "", "step_one")
    time.sleep(random.uniform(0.01, 0.1))
    return x + 1


@DBOS.step()
def step_two(x: int) -> int:
    log_step_run(DBOS.workflow_id or "", "step_two")
    time.sleep(random.uniform(0.01, 0.1))
    return x + 2


@DBOS.transaction()
def record_order(x: int) -> int:
    from sqlalchemy import text

    DBOS.sql_session.execute(
        text("INSERT INTO soak_txn (wf, x) VALUES (:wf, :x)"), {"wf": DBOS.workflow_id, "x": x}
    )
    return x * 2


@DBOS.workflow()
def soak_workflow(i: int) -> int:
    return step_two(record_order(step_one(i)))


def expected(i: int) -> int:
    """What ``soak_workflow(i)`` returns."""
    return (i + 1) * 2 + 2


def main(argv: list[str]) -> None:
    global queue
    url, index, workers, count, concurrency = argv[0], *map(int, argv[1:5])
    queue = Queue("soak", concurrency=concurrency)
    config: DBOSConfig = {
        "name": "soak",
        "system_database_url": url,
        "application_database_url": url,
        "executor_id": f"w{index}",
        "application_version": "soak",
        "system_database_retry_timeout_sec": 120,
    }
    DBOS(config=config)
    while True:  # the server may be restarting as this worker starts
        try:
            DBOS.launch()
            break
        except Exception:
            DBOS.destroy()
            time.sleep(0.5)
            DBOS(config=config)
    mine = range(index, count, workers)

    def enqueue() -> None:
        assert queue is not None
        for i in mine:
            while True:
                try:
                    with SetWorkflowID(f"soak-{i}"):
                        queue.enqueue(soak_workflow, i)
                    break
                except Exception:
                    time.sleep(0.5)

    threading.Thread(target=enqueue, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
