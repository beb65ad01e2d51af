"""Queues kept in the database, across real worker processes: a limit changed by one
process is applied by the workers serving the queue, without a restart.

The workers are this file run as a script (``python FILE URL EXECUTOR_ID RELEASE_FILE
STOP_FILE``): they declare no queue in code, find the queue in the queues table, and run
``gated_job`` workflows that wait for RELEASE_FILE.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.waiting import wait_until
from transact import DBOS

APP = pathlib.Path(__file__).resolve()
RELEASE = os.environ.get("STORED_QUEUE_RELEASE", "")


@DBOS.workflow()
def gated_job(n: int) -> int:
    while not os.path.exists(RELEASE):
        time.sleep(0.02)
    return n


def worker_main(url: str, executor_id: str, release: str, stop_file: str) -> None:
    os.environ["STORED_QUEUE_RELEASE"] = release
    global RELEASE
    RELEASE = release
    DBOS(
        config={
            "name": "stored-queue-workers",
            "system_database_url": url,
            "executor_id": executor_id,
            "application_version": "v1",
        }
    )
    DBOS.launch()
    print("ready", flush=True)
    while not os.path.exists(stop_file):
        time.sleep(0.05)
    DBOS.destroy(workflow_completion_timeout_sec=5)


@pytest.fixture
def enqueuer(durable_database_url: str) -> Iterator[str]:
    """This process, launched on the database but serving no queue of its own."""
    DBOS.destroy()
    DBOS(
        config={
            "name": "stored-queue-workers",
            "system_database_url": durable_database_url,
            "executor_id": "enqueuer",
            "application_version": "v1",
        }
    )
    DBOS.listen_queues([])
    DBOS.launch()
    yield durable_database_url
    DBOS.destroy()


def pending(queue: str) -> int:
    return len(DBOS.list_queued_workflows(queue_name=queue, status="PENDING"))


def test_a_limit_change_reaches_every_worker(enqueuer: str, tmp_path: pathlib.Path) -> None:
    release, stop = tmp_path / "release", tmp_path / "stop"
    queue = DBOS.register_queue("shared", global_concurrency=1, polling_interval_sec=0.1)
    env = dict(os.environ, PYTHONPATH=str(APP.parents[1]))
    workers = []
    try:
        for executor in ("w1", "w2"):
            worker = subprocess.Popen(
                [sys.executable, str(APP), enqueuer, executor, str(release), str(stop)],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            workers.append(worker)
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        handles = [queue.enqueue(gated_job, n) for n in range(6)]
        wait_until(lambda: pending(queue.name) == 1)
        time.sleep(0.5)
        assert pending(queue.name) == 1  # both workers hold to the global limit
        queue.set_global_concurrency(4)
        wait_until(lambda: pending(queue.name) == 4)
        time.sleep(0.5)
        assert pending(queue.name) == 4
        executors = {
            h.get_status().executor_id for h in handles if h.get_status().status == "PENDING"
        }
        assert executors <= {"w1", "w2"}
        release.touch()
        assert sorted(h.get_result() for h in handles) == list(range(6))
    finally:
        release.touch()
        stop.touch()
        for worker in workers:
            worker.wait(timeout=30)


if __name__ == "__main__":
    worker_main(*sys.argv[1:5])
