"""Static typing of the public API: mypy (strict) must accept every line of this file.

It is never run; ``make typecheck`` checks it. ``test_typing.py`` checks the opposite:
calls with wrong argument types that mypy must reject.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

from transact import DBOS, StepInfo, WorkflowHandle, WorkflowHandleAsync, WorkflowStatus, fx


@DBOS.step()
def charge(order_id: str, cents: int) -> float:
    return cents / 100


@DBOS.workflow()
def checkout(order_id: str, cents: int) -> str:
    amount = charge(order_id, cents)
    assert_type(amount, float)
    return f"{order_id}: {amount}"


@DBOS.workflow()
def fx_checkout(order_id: str) -> fx.Program[list[float]]:
    amount = yield from fx.step(charge, order_id, 250)
    assert_type(amount, float)
    yield from fx.sleep(1)
    receipt = yield from fx.call(checkout, order_id, 100)
    assert_type(receipt, str)
    handle = yield from fx.start(checkout, order_id, 5)
    assert_type(handle, WorkflowHandle[str])
    later = yield from fx.get_result(handle)
    assert_type(later, str)
    return [amount]


@DBOS.workflow()
async def async_checkout(order_id: str) -> int:
    return len(order_id)


async def async_usage() -> None:
    handle = await DBOS.start_workflow_async(async_checkout, "o-1")
    assert_type(handle, WorkflowHandleAsync[int])
    assert_type(await handle.get_result(), int)
    assert_type(await async_checkout("o-2"), int)
    assert_type(DBOS.start_workflow(async_checkout, "o-3"), WorkflowHandle[int])


def usage() -> None:
    handle = DBOS.start_workflow(checkout, "o-1", 250)
    assert_type(handle, WorkflowHandle[str])
    assert_type(handle.get_result(), str)
    assert_type(handle.get_status(), WorkflowStatus)
    assert_type(checkout("o-2", 1), str)

    fx_handle = DBOS.start_workflow(fx_checkout, "o-3")
    assert_type(fx_handle, WorkflowHandle[list[float]])
    assert_type(fx_checkout("o-4"), list[float])

    assert_type(DBOS.run_step(None, charge, "o-5", 3), float)
    assert_type(DBOS.retrieve_workflow("o-1"), WorkflowHandle[Any])
    assert_type(DBOS.get_workflow_status("o-1"), WorkflowStatus | None)
    assert_type(DBOS.list_workflows(status=["SUCCESS"]), list[WorkflowStatus])
    assert_type(DBOS.list_workflow_steps("o-1"), list[StepInfo])
    assert_type(DBOS.workflow_id, str | None)
    assert_type(DBOS.step_id, int | None)
    assert_type(DBOS.wait_first([handle, fx_handle]), WorkflowHandle[Any])


@DBOS.workflow()
async def checkout_async(order_id: str) -> int:
    return 1


def testing_kit() -> None:
    from pathlib import Path

    from hypothesis import strategies as st
    from hypothesis.strategies import SearchStrategy

    from transact.testing import (
        CrashCase,
        FakeClock,
        crash_cases,
        crash_everywhere,
        export_history,
        replay_history,
    )

    assert_type(crash_everywhere(checkout, "o-1", 250), str)
    assert_type(crash_everywhere(checkout, "o-1", 250, store="memory://t"), str)
    assert_type(
        crash_everywhere(fx_checkout, "o-1", clock=FakeClock(auto_advance=True)), list[float]
    )
    assert_type(crash_everywhere(checkout_async, "o-1"), int)
    cases = crash_cases(checkout, st.text(), st.integers())
    assert_type(cases, SearchStrategy[CrashCase[str]])
    assert_type(crash_cases(checkout_async, st.text()), SearchStrategy[CrashCase[int]])
    assert_type(replay_history(Path("h.json"), checkout), str)
    assert_type(replay_history("h.json", fx_checkout), list[float])
    assert_type(replay_history({}, checkout_async), int)
    assert_type(export_history("o-1"), dict[str, Any])
