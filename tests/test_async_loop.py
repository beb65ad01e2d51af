"""Async workflows as DBOS runs them: on the caller's event loop (loop-bound resources
work inside), and ``DBOS.asyncio_wait`` recorded and replayed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from transact import DBOS, DBOSConfiguredInstance, Queue, SetWorkflowID

main_loop_queue = Queue("main-loop-queue")

# Loop-bound resources the caller creates (arguments must be serializable: by name).
RESOURCES: dict[str, Any] = {}


@DBOS.workflow()
async def on_callers_loop(gate_name: str) -> tuple[bool, str]:
    gate: asyncio.Future[str] = RESOURCES[gate_name]
    # ``gate`` belongs to the caller's loop: awaiting it from another loop would fail.
    value = await gate
    return asyncio.get_running_loop() is gate.get_loop(), value


@DBOS.workflow()
async def uses_lock(n: int) -> int:
    async with RESOURCES["lock"]:
        await asyncio.sleep(0.01)
        return n


@DBOS.step()
async def sleepy(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


@DBOS.workflow()
async def race() -> tuple[list[float], int]:
    fast = asyncio.ensure_future(sleepy(0.01))
    slow = asyncio.ensure_future(sleepy(0.5))
    done, pending = await DBOS.asyncio_wait([fast, slow], return_when="FIRST_COMPLETED")
    finished = sorted(f.result() for f in done)
    await slow
    return finished, len(pending)


@DBOS.workflow()
async def which_loop(tag: str) -> tuple[bool, str]:
    return asyncio.get_running_loop() is RESOURCES.get("loop"), tag


@DBOS.workflow()
async def parent_of_async_child() -> tuple[bool, tuple[bool, str]]:
    child = await which_loop("child")  # a direct call: on this workflow's loop
    return asyncio.get_running_loop() is RESOURCES.get("loop"), child


@DBOS.dbos_class()
class Pool(DBOSConfiguredInstance):
    gate: asyncio.Future[int]  # the instance is not stored: it may hold loop resources

    @DBOS.workflow()
    async def borrow(self, n: int) -> int:
        return await self.gate + n


pool = Pool("pool-1")


@pytest.fixture
def url(system_database_url: str) -> Iterator[str]:
    DBOS.destroy()
    DBOS(config={"name": "test-async-loop", "system_database_url": system_database_url})
    DBOS.launch()
    yield system_database_url
    DBOS.destroy()


def test_direct_call_and_start_run_on_the_callers_loop(url: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        RESOURCES["gate"] = loop.create_future()
        loop.call_later(0.01, RESOURCES["gate"].set_result, "open")
        with SetWorkflowID("loop-1"):
            assert await on_callers_loop("gate") == (True, "open")
        RESOURCES["started"] = loop.create_future()
        handle = await DBOS.start_workflow_async(on_callers_loop, "started")
        RESOURCES["started"].set_result("later")
        assert await handle.get_result(polling_interval_sec=0.01) == (True, "later")
        RESOURCES["lock"] = asyncio.Lock()  # contended: its waiters must share one loop
        results = await asyncio.gather(*(uses_lock(n) for n in range(5)))
        assert results == list(range(5))
        pool.gate = loop.create_future()
        borrowed = await DBOS.start_workflow_async(pool.borrow, 1)
        pool.gate.set_result(41)
        assert await borrowed.get_result(polling_interval_sec=0.01) == 42

    asyncio.run(main())
    status = DBOS.get_workflow_status("loop-1")
    assert status is not None and status.status == "SUCCESS"


def test_children_recovered_and_dequeued_workflows_run_on_the_main_loop(url: str) -> None:
    from transact._facade.launched import runtime
    from transact._runtime.runtime import StartOptions

    rt = runtime()
    spec = rt.spec("which_loop", "main-rec")
    rt.store.insert_workflow(
        rt.new_record(spec, "main-rec", ("recovered",), {}, options=StartOptions())
    )
    DBOS.destroy()

    async def main() -> None:
        RESOURCES["loop"] = asyncio.get_running_loop()
        DBOS(config={"name": "test-async-loop", "system_database_url": url})
        DBOS.launch()  # on this loop: it becomes the main loop, and recovers main-rec here
        recovered = await DBOS.retrieve_workflow_async("main-rec")
        assert await recovered.get_result(polling_interval_sec=0.01) == (True, "recovered")
        queued = await main_loop_queue.enqueue_async(which_loop, "dequeued")
        assert await queued.get_result(polling_interval_sec=0.01) == (True, "dequeued")
        assert await parent_of_async_child() == (True, (True, "child"))

    try:
        asyncio.run(main())
    finally:
        RESOURCES.pop("loop", None)


def test_asyncio_wait_is_recorded_and_replayed(url: str) -> None:
    with SetWorkflowID("race-1"):
        assert asyncio.run(race()) == ([0.01], 1)
    steps = DBOS.list_workflow_steps("race-1")
    # The wait takes its id when awaited, before the tasks it waits for start theirs.
    assert [s["function_name"] for s in steps] == ["DBOS.asyncio_wait", "sleepy", "sleepy"]
    assert steps[0]["output"] == [0]
    # The fork replays both steps at once; the recorded split still holds.
    fork = DBOS.fork_workflow("race-1", 4)
    assert fork.get_result(polling_interval_sec=0.01) == ([0.01], 1)


def test_asyncio_wait_outside_a_workflow_is_asyncio_wait() -> None:
    async def main() -> tuple[int, int]:
        done, pending = await DBOS.asyncio_wait([asyncio.sleep(0)], timeout=5)
        return len(done), len(pending)

    assert asyncio.run(main()) == (1, 0)
