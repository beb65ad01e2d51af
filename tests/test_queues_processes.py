"""Queues across real worker processes sharing one system database (Postgres or SQLite).

The test process only enqueues (rows written through the store, as any process might)
and watches; the workers are this file run as a script::

    python tests/test_queues_processes.py URL EXECUTOR_ID LOG_DIR STOP_FILE

Each worker declares the same queue, launches, and dequeues until STOP_FILE exists. Every
step appends ``<workflow> <step> <event> <time> <pid>`` to ``LOG_DIR/<pid>.log``, from
inside the workflow, so limits are checked on what really ran.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from transact import DBOS, DefaultSerializer, Queue
from transact._store.factory import open_store
from transact._store.protocol import Store
from transact._store.records import WorkflowRecord

QUEUE = "procq"
GLOBAL_LIMIT = 5
WORKER_LIMIT = 2
RATE = {"limit": 40, "period": 0.5}
STEP_SECONDS = 0.02

LOG_DIR = os.environ.get("QUEUE_TEST_LOG_DIR", "")


def log(line: str) -> None:
    with open(os.path.join(LOG_DIR, f"{os.getpid()}.log"), "a") as f:
        f.write(f"{line} {time.time():.6f} {os.getpid()}\n")


@DBOS.step()
def queue_step(n: int) -> int:
    workflow_id = DBOS.workflow_id
    log(f"{workflow_id} {n} start")
    time.sleep(STEP_SECONDS)
    log(f"{workflow_id} {n} end")
    return n


@DBOS.workflow()
def queued_job(steps: int) -> int:
    return sum(queue_step(n) for n in range(1, steps + 1))


def worker_main(url: str, executor_id: str, log_dir: str, stop_file: str) -> None:
    global LOG_DIR
    LOG_DIR = log_dir
    Queue(
        QUEUE,
        concurrency=GLOBAL_LIMIT,
        limiter=RATE,
        worker_concurrency=WORKER_LIMIT,
        polling_interval_sec=0.1,
    )
    DBOS(
        config={
            "name": "queue-workers",
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


# --- the tests -------------------------------------------------------------------------

APP = pathlib.Path(__file__)


@pytest.fixture
def shared_url(system_database_url: str) -> str:
    if system_database_url.startswith("memory://"):
        pytest.skip("the memory store does not outlive its process")
    return system_database_url


class Workers:
    def __init__(self, url: str, tmp: pathlib.Path) -> None:
        self.url = url
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.stop_file = tmp / "stop"
        self.processes: dict[str, subprocess.Popen[str]] = {}

    def spawn(self, executor_id: str) -> subprocess.Popen[str]:
        env = dict(os.environ, PYTHONPATH=str(APP.parents[1]))
        process = subprocess.Popen(
            [sys.executable, str(APP), self.url, executor_id, str(self.logs), str(self.stop_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            _, err = process.communicate(timeout=30)
            raise AssertionError(f"worker {executor_id} did not start:\n{err}")
        self.processes[executor_id] = process
        return process

    def stop(self) -> None:
        self.stop_file.touch()
        for process in self.processes.values():
            _, err = process.communicate(timeout=60)
            assert process.returncode in (0, -signal.SIGKILL), err

    def lines(self) -> list[list[str]]:
        rows = []
        for path in self.logs.glob("*.log"):
            rows += [line.split() for line in path.read_text().splitlines() if line]
        return rows


def enqueue_directly(store: Store, count: int, steps: int) -> list[str]:
    """Enqueue ``count`` jobs as any process would, without running a queue here."""
    serializer = DefaultSerializer()
    ids = []
    for i in range(count):
        now = int(time.time() * 1000)
        workflow_id = f"job-{i:04}"
        store.insert_workflow(
            WorkflowRecord(
                workflow_id=workflow_id,
                status="ENQUEUED",
                name="queued_job",
                inputs=serializer.serialize({"args": (steps,), "kwargs": {}}),
                serialization=serializer.name(),
                queue_name=QUEUE,
                application_version="v1",
                created_at=now,
                updated_at=now,
            )
        )
        ids.append(workflow_id)
    return ids


def wait_all_done(store: Store, ids: list[str], timeout: float = 90) -> list[WorkflowRecord]:
    deadline = time.monotonic() + timeout
    while True:
        rows = [store.get_workflow(i, load_input=False) for i in ids]
        if all(r is not None and r.status == "SUCCESS" for r in rows):
            return [r for r in rows if r is not None]
        assert time.monotonic() < deadline, Counter(r.status if r else None for r in rows)
        time.sleep(0.1)


def in_flight(lines: list[list[str]], pid: str, steps: tuple[str, ...]) -> bool:
    """Whether process ``pid`` has started one of ``steps`` of some workflow and not
    ended it (after it has finished a few, so the kill lands midway)."""
    mine = [(w, step, event) for w, step, event, _, p in lines if p == pid]
    started = {(w, step) for w, step, event in mine if event == "start"}
    ended = {(w, step) for w, step, event in mine if event == "end"}
    return len(ended) >= 6 and any(step in steps for _, step in started - ended)


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    # At equal times ends (-1) sort first: touching intervals do not overlap.
    running = peak = 0
    for _, delta in edges:
        running += delta
        peak = max(peak, running)
    return peak


@pytest.mark.slow
def test_three_workers_hold_global_worker_and_rate_limits(
    shared_url: str, tmp_path: pathlib.Path
) -> None:
    workers = Workers(shared_url, tmp_path)
    store = open_store(shared_url)
    try:
        for i in range(3):
            workers.spawn(f"worker-{i}")
        ids = enqueue_directly(store, 240, steps=1)
        rows = wait_all_done(store, ids)
    finally:
        workers.stop()
        store.close()
    lines = workers.lines()
    starts = {(w, pid): float(t) for w, _, event, t, pid in lines if event == "start"}
    ends = {(w, pid): float(t) for w, _, event, t, pid in lines if event == "end"}
    intervals = {key: (starts[key], ends[key]) for key in starts}
    assert len({w for w, _ in intervals}) == 240
    assert max_overlap(list(intervals.values())) <= GLOBAL_LIMIT
    pids = {pid for _, pid in intervals}
    assert len(pids) == 3  # every worker took part
    for pid in pids:
        mine = [span for (_, p), span in intervals.items() if p == pid]
        assert max_overlap(mine) <= WORKER_LIMIT
    # The rate limit: any limit + 1 dequeues span at least a period.
    dequeued = sorted(r.started_at_epoch_ms or 0 for r in rows)
    limit, period_ms = int(RATE["limit"]), RATE["period"] * 1000
    for first, last in zip(dequeued, dequeued[limit:], strict=False):
        assert last - first >= period_ms


@pytest.mark.slow
def test_killed_worker_restarted_with_its_executor_id_finishes_its_work(
    shared_url: str, tmp_path: pathlib.Path
) -> None:
    workers = Workers(shared_url, tmp_path)
    store = open_store(shared_url)
    try:
        victim = workers.spawn("worker-a")
        workers.spawn("worker-b")
        ids = enqueue_directly(store, 60, steps=3)
        pid = str(victim.pid)
        # Kill it inside a first or second step: it then surely holds that workflow.
        while not in_flight(workers.lines(), pid, steps=("1", "2")):
            time.sleep(0.002)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        stranded = [
            r.workflow_id
            for r in (store.get_workflow(i, load_input=False) for i in ids)
            if r is not None and r.status == "PENDING" and r.executor_id == "worker-a"
        ]
        assert stranded  # it died holding claimed workflows
        workers.spawn("worker-a")  # the same executor id recovers them
        wait_all_done(store, ids)
        assert all(
            [c.function_name for c in store.load_checkpoints(i)] == ["queue_step"] * 3 for i in ids
        )
    finally:
        workers.stop()
        store.close()
    runs = Counter((w, step) for w, step, event, _, _ in workers.lines() if event == "start")
    assert {w for w, _ in runs} == set(ids)
    for workflow_id in ids:
        again = [step for (w, step), n in runs.items() if w == workflow_id and n > 1]
        # Only the step interrupted by the kill may run twice, and only in the victim.
        assert len(again) <= 1, (workflow_id, again)
        assert workflow_id in stranded or not again
        if again:
            first_run = min(
                (float(t), p)
                for w, s, event, t, p in workers.lines()
                if w == workflow_id and s == again[0] and event == "start"
            )
            assert first_run[1] == pid


if __name__ == "__main__":
    worker_main(*sys.argv[1:5])
