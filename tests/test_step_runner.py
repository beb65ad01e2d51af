"""One step runner for sync and async steps: the schedule, logging, fake time, cancelling."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from transact import DBOS, DBOSConfig
from transact._core.retry import MAX_RETRY_DELAY_SECONDS, RetryPolicy
from transact.errors import DBOSAwaitedWorkflowCancelledError, DBOSMaxStepRetriesExceeded
from transact.testing import FakeClock, launched

runs: Counter[str] = Counter()
ended = threading.Event()


@DBOS.step(retries_allowed=True, interval_seconds=600, max_attempts=4, backoff_rate=3)
async def slow_flaky_async() -> str:
    runs["async"] += 1
    if runs["async"] < 4:
        raise ConnectionError(f"async failure {runs['async']}")
    return "ok"


@DBOS.step(retries_allowed=True, interval_seconds=600, max_attempts=4, backoff_rate=3)
def slow_flaky_sync() -> str:
    runs["sync"] += 1
    if runs["sync"] < 4:
        raise ConnectionError(f"sync failure {runs['sync']}")
    return "ok"


@DBOS.step(retries_allowed=True, interval_seconds=600, max_attempts=2)
async def always_failing_async() -> str:
    raise ValueError("never")


@DBOS.step(retries_allowed=True, interval_seconds=30, max_attempts=5)
async def failing_slowly() -> str:
    runs["slowly"] += 1
    raise ConnectionError("down")


@DBOS.workflow()
async def async_retrying() -> str:
    return await slow_flaky_async()


@DBOS.workflow()
def sync_retrying() -> str:
    return slow_flaky_sync()


@DBOS.workflow()
async def async_exhausting() -> str:
    return await always_failing_async()


@DBOS.workflow()
async def async_cancellable() -> str:
    try:
        return await failing_slowly()
    finally:
        ended.set()  # the body itself stopped, not just the caller's wait


def _config() -> DBOSConfig:
    return {"name": "test-step-runner", "system_database_url": f"memory://{uuid.uuid4().hex}"}


@pytest.fixture
def fake_time() -> Iterator[FakeClock]:
    runs.clear()
    DBOS.destroy(destroy_registry=False)
    clock = FakeClock()
    with launched(_config(), clock=clock):
        yield clock


def test_schedule_values() -> None:
    policy = RetryPolicy(retries_allowed=True, interval_seconds=2, max_attempts=4, backoff_rate=3)
    assert policy.delays() == (2, 6, 18)
    assert [policy.next_delay(a) for a in range(4)] == [2, 6, 18, None]
    assert RetryPolicy().delays() == ()
    assert RetryPolicy().next_delay(0) is None  # retries not allowed: give up at once
    capped = RetryPolicy(retries_allowed=True, interval_seconds=1000, max_attempts=4)
    assert capped.delays() == (1000, 2000, MAX_RETRY_DELAY_SECONDS)


def test_async_backoff_takes_no_real_time_with_a_fake_clock(fake_time: FakeClock) -> None:
    before = fake_time.now()
    started = time.monotonic()
    assert asyncio.run(async_retrying()) == "ok"
    assert time.monotonic() - started < 5
    assert runs["async"] == 4
    assert fake_time.now() - before >= 600 + 1800 + MAX_RETRY_DELAY_SECONDS  # 5400 capped


def test_async_retries_are_logged_like_sync_ones(
    fake_time: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def messages(run: Callable[[], str], kind: str) -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="dbos"):
            assert run() == "ok"
        return [r.getMessage().replace(kind, "X") for r in caplog.records]

    sync_lines = messages(sync_retrying, "sync")
    async_lines = messages(lambda: asyncio.run(async_retrying()), "async")
    assert len(sync_lines) == 3
    assert sync_lines[0] == "Step being automatically retried (attempt 1 of 4)"  # DBOS's
    assert sync_lines == async_lines


def test_async_retries_exhausted(fake_time: FakeClock) -> None:
    with pytest.raises(DBOSMaxStepRetriesExceeded):
        asyncio.run(async_exhausting())


def test_a_cancel_cuts_an_async_backoff_short() -> None:
    runs.clear()
    ended.clear()
    DBOS.destroy(destroy_registry=False)
    with launched(_config()):

        async def main() -> float:
            handle = await DBOS.start_workflow_async(async_cancellable)
            while runs["slowly"] < 1:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # now in the 30 s pause
            started = time.monotonic()
            await DBOS.cancel_workflow_async(handle.workflow_id)
            with pytest.raises(DBOSAwaitedWorkflowCancelledError):
                await handle.get_result()
            assert await asyncio.to_thread(ended.wait, 5)
            return time.monotonic() - started

        assert asyncio.run(main()) < 5
        assert runs["slowly"] == 1
