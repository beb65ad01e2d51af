"""Static typing of the public API: mypy (strict) must accept every line of this file.

It is never run; ``make typecheck`` checks it. ``test_typing.py`` checks the opposite:
calls with wrong argument types that mypy must reject.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

from transact import (
    DBOS,
    DBOSConfiguredInstance,
    SetWorkflowAttributes,
    StepInfo,
    VersionInfo,
    WorkflowHandle,
    WorkflowHandleAsync,
    WorkflowStatus,
    fx,
)


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
    assert_type(await DBOS.fork_workflow_async("o-1", 1), WorkflowHandleAsync[Any])
    assert_type(await DBOS.list_queued_workflows_async(), list[WorkflowStatus])
    async for value in DBOS.read_stream_async("o-1", "key"):
        assert_type(value, Any)


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


@DBOS.dbos_class()
class Shop(DBOSConfiguredInstance):
    @DBOS.workflow()
    def order(self, item: str, count: int) -> list[str]:
        return [item] * count

    @classmethod
    @DBOS.workflow()
    def opening(cls, hour: int) -> bool:
        return hour > 8


def class_methods_type_their_handles(shop: Shop) -> None:
    assert_type(shop.order("pen", 2), list[str])
    assert_type(DBOS.start_workflow(shop.order, "pen", 2), WorkflowHandle[list[str]])
    assert_type(DBOS.start_workflow(Shop.opening, 9), WorkflowHandle[bool])


async def management_types(workflow_id: str) -> None:
    assert_type(DBOS.resume_workflows([workflow_id]), list[WorkflowHandle[Any]])
    assert_type(await DBOS.fork_workflow_async(workflow_id, 2), WorkflowHandleAsync[Any])
    assert_type(DBOS.rewind_workflow(workflow_id, 1), WorkflowHandle[Any])
    assert_type(DBOS.get_latest_application_version(), VersionInfo)
    assert_type(DBOS.list_application_versions(), list[VersionInfo])
    assert_type(DBOS.patch("p"), bool)
    assert_type(await DBOS.deprecate_patch_async("p"), bool)
    assert_type(DBOS.read_stream_offset(workflow_id, "k", 0), Any)
    steps = DBOS.list_workflow_steps(workflow_id, limit=2, offset=1, load_output=False)
    assert_type(steps, list[StepInfo])
    DBOS.cancel_workflows([workflow_id], cancel_children=True)
    DBOS.update_workflow_attributes(workflow_id, {"k": 1}, merge=True)
    with SetWorkflowAttributes({"k": 1}):
        pass


@DBOS.step()
async def fetch(n: int) -> str:
    return str(n)


@DBOS.workflow()
async def reserved_steps() -> None:
    first = await DBOS.reserve_step_async()
    assert_type(await first.run_async(fetch, 1), str)
    second = DBOS.reserve_step()
    assert_type(second.run(charge, "o", 1), float)


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
