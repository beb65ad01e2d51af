"""Parked waits: a workflow waiting durably holds no thread, and is woken where it stopped.

Thousands of background workflows wait in ``recv`` (or ``sleep``, ``get_result``) at
once with a bounded number of threads, on every store; a sender wakes them all, and the
results are right. Recovery of workflows blocked in a wait finishes too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.waiting import wait_until
from transact import DBOS, SetWorkflowID
from transact._runtime.parking import Signal
from transact._runtime.runner_pool import Dispatcher

NAME = "test-parking"
# Far fewer threads than waiting workflows (600 to 2,000 here): runners hold only
# workflows running code. The dispatcher adds runners while starts are slow (a loaded
# machine), so the bound leaves room for that and nothing more.
MAX_THREADS = 300


def launch(url: str) -> None:
    DBOS.destroy(destroy_registry=False)
    DBOS(config={"name": NAME, "system_database_url": url})
    DBOS.launch()


@pytest.fixture
def url(system_database_url: str) -> Iterator[str]:
    launch(system_database_url)
    yield system_database_url
    DBOS.destroy(destroy_registry=False)


class PeakThreads:
    """Samples ``threading.active_count()`` in the background; ``peak`` is the highest."""

    def __init__(self) -> None:
        self.peak = threading.active_count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, threading.active_count())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


arrived: list[str] = []
arrived_lock = threading.Lock()


@DBOS.workflow()
def parked_recv(n: int) -> str:
    with arrived_lock:
        arrived.append(DBOS.workflow_id or "")
    message = DBOS.recv("go", timeout_seconds=120)
    return f"{n}:{message}"


@DBOS.workflow()
def parked_sleep(n: int) -> int:
    DBOS.sleep(0.3)
    return n * 2


@DBOS.workflow()
def awaits_child(child_id: str) -> str:
    handle = DBOS.retrieve_workflow(child_id)
    return f"child said {handle.get_result()}"


def test_2000_workflows_wait_in_recv_with_few_threads(url: str) -> None:
    n = 2000
    arrived.clear()
    peak = PeakThreads()
    for i in range(n):
        with SetWorkflowID(f"wait-{i}"):
            DBOS.start_workflow(parked_recv, i)
    wait_until(lambda: len(arrived) == n, timeout=120)
    for i in range(n):
        DBOS.send(f"wait-{i}", f"m{i}", "go")
    results = [DBOS.retrieve_workflow(f"wait-{i}").get_result() for i in range(n)]
    assert results == [f"{i}:m{i}" for i in range(n)]
    assert peak.stop() < n // 4


def test_sleeping_workflows_park_and_finish(url: str) -> None:
    peak = PeakThreads()
    handles = [DBOS.start_workflow(parked_sleep, i) for i in range(600)]
    assert [h.get_result() for h in handles] == [i * 2 for i in range(600)]
    assert peak.stop() < MAX_THREADS


def test_a_workflow_awaiting_another_parks_until_it_finishes(url: str) -> None:
    arrived.clear()
    with SetWorkflowID("the-child"):
        DBOS.start_workflow(parked_recv, 7)
    parents = [DBOS.start_workflow(awaits_child, "the-child") for _ in range(600)]
    wait_until(lambda: len(arrived) == 1)
    DBOS.send("the-child", "hi", "go")
    assert {p.get_result() for p in parents} == {"child said 7:hi"}


def test_recovery_of_1000_workflows_blocked_in_recv_finishes(durable_database_url: str) -> None:
    n = 1000
    launch(durable_database_url)
    try:
        arrived.clear()
        for i in range(n):
            with SetWorkflowID(f"rec-{i}"):
                DBOS.start_workflow(parked_recv, i)
        wait_until(lambda: len(arrived) == n, timeout=120)
        # A crash: the executor stops, the workflows stay PENDING; a new one recovers them.
        arrived.clear()
        launch(durable_database_url)
        peak = PeakThreads()
        wait_until(lambda: len(arrived) == n, timeout=120)
        for i in range(n):
            DBOS.send(f"rec-{i}", "again", "go")
        results = [DBOS.retrieve_workflow(f"rec-{i}").get_result() for i in range(n)]
        assert results == [f"{i}:again" for i in range(n)]
        assert peak.stop() < MAX_THREADS
    finally:
        DBOS.destroy(destroy_registry=False)


def test_a_parked_job_frees_its_runner_for_the_backlog() -> None:
    # One runner, no growth: the first job parks on a signal set only by the second.
    from concurrent.futures import ThreadPoolExecutor

    from transact._runtime.clock import SystemClock

    pool = ThreadPoolExecutor(max_workers=1)
    dispatcher = Dispatcher(pool, runners=1, max_runners=1)
    signal = Signal()
    order: list[str] = []
    done = threading.Event()

    def waiter() -> None:
        assert SystemClock().wait(signal, 30)
        order.append("waiter")
        done.set()

    def setter() -> None:
        order.append("setter")
        signal.set()

    dispatcher.submit(waiter)
    dispatcher.submit(setter)
    assert done.wait(30)
    assert order == ["setter", "waiter"]
    dispatcher.close()
    pool.shutdown(wait=True)
