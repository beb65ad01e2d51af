"""Step options beyond retries (should_retry, timeout_seconds, preemptible),
DBOS.step_status and DBOS.reserve_step, on every store."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator

import pytest

from tests.waiting import status_of, wait_until
from transact import DBOS, SetWorkflowID, StepReservation, StepStatus
from transact.errors import (
    DBOSException,
    DBOSMaxStepRetriesExceeded,
    DBOSStepTimeoutError,
)

ATTEMPTS: list[int] = []
STATUSES: list[StepStatus | None] = []


class Fatal(Exception):
    pass


@DBOS.step(
    retries_allowed=True,
    max_attempts=5,
    interval_seconds=0,
    should_retry=lambda exc: not isinstance(exc, Fatal),
)
def flaky(fail_with: list[Exception]) -> str:
    STATUSES.append(DBOS.step_status)
    ATTEMPTS.append(len(ATTEMPTS))
    if fail_with:
        raise fail_with.pop(0)
    return "ok"


@DBOS.workflow()
def run_flaky(fail_with: list[Exception]) -> str:
    return flaky(fail_with)


async def never_fatal(exc: Exception) -> bool:
    await asyncio.sleep(0)
    return not isinstance(exc, Fatal)


@DBOS.step(retries_allowed=True, max_attempts=3, interval_seconds=0, timeout_seconds=0.2)
async def slow_then_fast() -> int:
    ATTEMPTS.append(len(ATTEMPTS))
    if len(ATTEMPTS) == 1:
        await asyncio.sleep(30)
    return len(ATTEMPTS)


@DBOS.step(timeout_seconds=0.1)
async def always_slow() -> None:
    await asyncio.sleep(30)


@DBOS.step(retries_allowed=True, interval_seconds=0, should_retry=never_fatal)
async def async_predicate(errors: list[Exception]) -> str:
    ATTEMPTS.append(0)
    if errors:
        raise errors.pop(0)
    return "done"


@DBOS.workflow()
async def timed(which: str) -> object:
    if which == "retry":
        return await slow_then_fast()
    if which == "predicate":
        return await async_predicate([ValueError("x"), Fatal("stop")])
    await always_slow()
    return None


PREEMPT_STARTED: list[bool] = []


@DBOS.step(preemptible=True)
async def long_step() -> str:
    PREEMPT_STARTED.append(True)
    if len(PREEMPT_STARTED) == 1:
        await asyncio.sleep(30)
    return "finished"


@DBOS.workflow()
async def preempted() -> str:
    return await long_step()


@DBOS.step()
def plain_step() -> StepStatus | None:
    return DBOS.step_status


@DBOS.workflow()
def reserving() -> list[int]:
    first = DBOS.reserve_step()
    second = DBOS.reserve_step()
    assert isinstance(first, StepReservation)
    out = [second.run(plain_step_id), first.run(plain_step_id), plain_step_id()]
    with pytest.raises(DBOSException, match="A step reservation can only be run once"):
        first.run(plain_step_id)
    return out


@DBOS.step()
def plain_step_id() -> int:
    step = DBOS.step_id
    assert step is not None
    return step


@DBOS.step()
async def async_step_id(delay: float) -> int:
    await asyncio.sleep(delay)
    step = DBOS.step_id
    assert step is not None
    return step


@DBOS.workflow()
async def reserving_async() -> list[int]:
    first = await DBOS.reserve_step_async()
    second = await DBOS.reserve_step_async()
    # Run in any order, even concurrently: each keeps the position it reserved.
    return list(
        await asyncio.gather(
            second.run_async(async_step_id, 0), first.run_async(async_step_id, 0.05)
        )
    )


@pytest.fixture
def url(system_database_url: str) -> Iterator[str]:
    DBOS.destroy()
    ATTEMPTS.clear()
    STATUSES.clear()
    DBOS(config={"name": "test-step-options", "system_database_url": system_database_url})
    DBOS.launch()
    yield system_database_url
    DBOS.destroy()


def test_should_retry_stops_the_retries(url: str) -> None:
    assert run_flaky([ValueError("a"), ValueError("b")]) == "ok"
    assert ATTEMPTS == [0, 1, 2]
    assert STATUSES[0] is not None
    assert [(s.current_attempt, s.max_attempts) for s in STATUSES if s] == [
        (0, 5),
        (1, 5),
        (2, 5),
    ]
    ATTEMPTS.clear()
    with SetWorkflowID("fatal-1"), pytest.raises(Fatal):
        run_flaky([ValueError("a"), Fatal("no")])
    assert ATTEMPTS == [0, 1]
    # The error was recorded: a second run replays it without calling the step.
    with SetWorkflowID("fatal-1"), pytest.raises(Fatal):
        run_flaky([])
    assert ATTEMPTS == [0, 1]
    with pytest.raises(DBOSMaxStepRetriesExceeded):
        run_flaky([ValueError(str(i)) for i in range(5)])


def test_step_status_outside_and_without_retries(url: str) -> None:
    assert DBOS.step_status is None
    assert plain_step() is None  # a plain call outside a workflow

    @DBOS.workflow(name="status-wf")
    def wf() -> StepStatus | None:
        return plain_step()

    status = wf()
    assert status is not None
    assert (status.current_attempt, status.max_attempts) == (None, None)
    assert status.step_id == 1


def test_timeouts_retry_and_raise(url: str) -> None:
    assert asyncio.run(timed("retry")) == 2
    with pytest.raises(DBOSStepTimeoutError) as info:
        asyncio.run(timed("once"))
    assert str(info.value) == (
        "DBOS Error 18: Step always_slow was cancelled after exceeding its timeout of 0.1 seconds"
    )
    ATTEMPTS.clear()
    with pytest.raises(Fatal):
        asyncio.run(timed("predicate"))
    assert len(ATTEMPTS) == 2


def test_preemptible_step_stops_on_cancel_and_reruns_on_resume(url: str) -> None:
    PREEMPT_STARTED.clear()
    handle = DBOS.start_workflow(preempted)
    wait_until(lambda: bool(PREEMPT_STARTED))
    DBOS.cancel_workflow(handle.workflow_id)
    wait_until(
        lambda: (
            DBOS.list_workflow_steps(handle.workflow_id) == [] and not _running(handle.workflow_id)
        )
    )
    assert status_of(handle.workflow_id) == "CANCELLED"
    assert DBOS.list_workflow_steps(handle.workflow_id) == []  # not recorded


def _running(workflow_id: str) -> bool:
    from transact._facade.launched import runtime

    return runtime().future(workflow_id) is not None


def test_option_checks() -> None:
    with pytest.raises(DBOSException, match="is sync but preemptible=True"):
        DBOS.step(preemptible=True)(lambda: None)
    with pytest.raises(DBOSException, match="is sync but timeout_seconds is set"):
        DBOS.step(timeout_seconds=1)(lambda: None)

    async def body() -> None:
        pass

    for bad in (0, -1, math.inf, math.nan):
        with pytest.raises(DBOSException, match="Step timeouts must be positive and finite"):
            DBOS.step(timeout_seconds=bad)(body)


def test_async_should_retry_on_a_sync_step_fails_when_run(url: str) -> None:
    @DBOS.workflow(name="bad-predicate")
    def wf() -> int:
        return DBOS.run_step(
            {"retries_allowed": True, "should_retry": never_fatal, "name": "bad-pred-step"},
            lambda: 1,
        )

    with pytest.raises(DBOSException, match="is sync but should_retry is async"):
        wf()


def test_reserve_step_runs_steps_at_reserved_positions(url: str) -> None:
    with SetWorkflowID("reserve-1"):
        assert reserving() == [2, 1, 3]
    steps = DBOS.list_workflow_steps("reserve-1")
    assert [s["function_id"] for s in steps] == [1, 2, 3]
    # A fork past every step replays the reserved steps from the log.
    fork = DBOS.fork_workflow("reserve-1", 4)
    assert fork.get_result(polling_interval_sec=0.01) == [2, 1, 3]
    with pytest.raises(DBOSException, match="must be called from a workflow"):
        DBOS.reserve_step()
    with SetWorkflowID("reserve-2"):
        assert asyncio.run(reserving_async()) == [2, 1]
