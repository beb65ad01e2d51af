"""The dispatcher of background workflows: few runners, more when they are held up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from transact._runtime.runner_pool import Dispatcher


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=64)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


def test_a_burst_runs_on_the_base_runners_only(pool: ThreadPoolExecutor) -> None:
    dispatcher = Dispatcher(pool, runners=2, max_runners=64)
    lock = threading.Lock()
    running = 0
    peak = 0
    done = threading.Semaphore(0)

    def job() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.0005)  # short: the runners keep taking jobs, nothing looks stalled
        with lock:
            running -= 1
        done.release()

    for _ in range(200):
        dispatcher.submit(job)
    for _ in range(200):
        assert done.acquire(timeout=10)
    assert peak == 2


def test_held_up_runners_let_the_backlog_through(pool: ThreadPoolExecutor) -> None:
    # Two runners wait for the last job, which sits behind them in the backlog: without
    # the watcher growing the allowance this would never end.
    dispatcher = Dispatcher(pool, runners=2, max_runners=64, stall_seconds=0.005)
    last_ran = threading.Event()
    finished: list[str] = []

    def waiter() -> None:
        assert last_ran.wait(10)
        finished.append("waiter")

    dispatcher.submit(waiter)
    dispatcher.submit(waiter)
    for _ in range(5):
        dispatcher.submit(lambda: finished.append("filler"))
    dispatcher.submit(last_ran.set)
    deadline = time.monotonic() + 10
    while len(finished) < 7 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(finished) == ["filler"] * 5 + ["waiter"] * 2
    assert last_ran.is_set()


def test_the_allowance_falls_back_once_the_backlog_is_empty(pool: ThreadPoolExecutor) -> None:
    dispatcher = Dispatcher(pool, runners=1, max_runners=64, stall_seconds=0.005)
    release = threading.Event()
    started = threading.Semaphore(0)

    def blocked() -> None:
        started.release()
        release.wait(10)

    for _ in range(4):
        dispatcher.submit(blocked)
    for _ in range(4):  # the watcher had to grow the allowance for all four to start
        assert started.acquire(timeout=10)
    release.set()
    deadline = time.monotonic() + 10
    while dispatcher._allowed != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dispatcher._allowed == 1


def test_close_drops_the_jobs_not_started_and_refuses_new_ones(pool: ThreadPoolExecutor) -> None:
    dispatcher = Dispatcher(pool, runners=1, max_runners=1)
    release = threading.Event()
    ran: list[int] = []

    def first() -> None:
        release.wait(10)
        ran.append(0)

    dispatcher.submit(first)
    for i in range(1, 4):
        dispatcher.submit(lambda i=i: ran.append(i))  # type: ignore[misc]
    dispatcher.close()
    with pytest.raises(RuntimeError, match="shutting down"):
        dispatcher.submit(lambda: ran.append(99))
    release.set()
    pool.shutdown(wait=True)
    assert ran == [0]


def test_a_failing_job_does_not_stop_its_runner(
    pool: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = Dispatcher(pool, runners=1, max_runners=1)
    done = threading.Event()

    def fail() -> None:
        raise RuntimeError("boom")

    dispatcher.submit(fail)
    dispatcher.submit(done.set)
    assert done.wait(10)
    assert "outside its own error handling" in caplog.text
