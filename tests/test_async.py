"""Async workflows and steps, and the ``*_async`` twins, on every store."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from transact import DBOS, SetWorkflowID, WorkflowHandleAsync
from transact._core.effects import Recv

runs: Counter[str] = Counter()


@DBOS.step()
async def fetch(n: int) -> int:
    runs["fetch"] += 1
    await asyncio.sleep(0)
    return n * 10


@DBOS.step(retries_allowed=True, interval_seconds=0.001, max_attempts=3)
async def flaky_fetch() -> str:
    runs["flaky"] += 1
    if runs["flaky"] < 2:
        raise ConnectionError("once")
    return "ok"


@DBOS.step()
def sync_step(n: int) -> int:
    runs["sync"] += 1
    return n + 1


@DBOS.workflow()
async def async_workflow(n: int) -> int:
    a, b = await asyncio.gather(fetch(n), fetch(n + 1))
    await DBOS.sleep_async(0.001)
    c = sync_step(a + b)
    return c + len(await flaky_fetch())


@DBOS.workflow()
async def async_parent(n: int) -> int:
    return await async_workflow(n) + 1


@DBOS.workflow()
async def gathering_twins(count: int) -> list[str]:
    """Events, messages (to itself) and stream values written together with gather."""
    me = DBOS.workflow_id
    assert me is not None
    await asyncio.gather(*(DBOS.set_event_async(f"k{i}", i) for i in range(count)))
    await asyncio.gather(*(DBOS.send_async(me, i, f"t{i}") for i in range(count)))
    await asyncio.gather(*(DBOS.write_stream_async("s", i) for i in range(count)))
    await DBOS.close_stream_async("s")
    got = await asyncio.gather(*(DBOS.recv_async(f"t{i}", 5) for i in range(count)))
    seen = await asyncio.gather(*(DBOS.get_event_async(me, f"k{i}", 5) for i in range(count)))
    return [f"{a}:{b}" for a, b in zip(got, seen, strict=True)]


@pytest.fixture
def dbos(system_database_url: str) -> Iterator[None]:
    runs.clear()
    DBOS.destroy()
    DBOS(config={"name": "test-async", "system_database_url": system_database_url})
    DBOS.launch()
    yield
    DBOS.destroy()


def test_async_workflow_direct_and_started(dbos: None) -> None:
    async def main() -> tuple[int, int, WorkflowHandleAsync[int]]:
        with SetWorkflowID("async-1"):
            direct = await async_workflow(1)
        handle = await DBOS.start_workflow_async(async_workflow, 2)
        return direct, await handle.get_result(), handle

    direct, started, handle = asyncio.run(main())
    assert direct == 10 + 20 + 1 + 2
    assert started == 20 + 30 + 1 + 2
    names = [s["function_name"] for s in DBOS.list_workflow_steps("async-1")]
    # gathered steps keep their call order: ids were issued before the first await
    assert names[:2] == ["fetch", "fetch"] and names[2:] == [
        "DBOS.sleep",
        "sync_step",
        "flaky_fetch",
    ]
    assert [s["output"] for s in DBOS.list_workflow_steps("async-1")][:2] == [10, 20]
    status = asyncio.run(handle.get_status())
    assert status.status == "SUCCESS"


def test_async_workflow_started_from_sync_code_and_children(dbos: None) -> None:
    assert DBOS.start_workflow(async_workflow, 1).get_result() == 33
    with SetWorkflowID("async-parent"):
        assert asyncio.run(async_parent(1)) == 34
    steps = DBOS.list_workflow_steps("async-parent")
    assert [(s["function_name"], s["child_workflow_id"]) for s in steps] == [
        ("async_workflow", "async-parent-1"),
        ("DBOS.getResult", "async-parent-1"),
    ]


def test_async_twins(dbos: None) -> None:
    async def main() -> None:
        handle = await DBOS.start_workflow_async(async_workflow, 1)
        assert await DBOS.get_result_async(handle.workflow_id) == 33
        status = await DBOS.get_workflow_status_async(handle.workflow_id)
        assert status is not None and status.status == "SUCCESS"
        assert len(await DBOS.list_workflow_steps_async(handle.workflow_id)) == 5
        assert [w.workflow_id for w in await DBOS.list_workflows_async(name="async_workflow")] == [
            handle.workflow_id
        ]
        retrieved = await DBOS.retrieve_workflow_async(handle.workflow_id)
        assert await retrieved.get_result() == 33
        assert await DBOS.wait_first_async([retrieved]) is retrieved
        assert await DBOS.run_step_async(None, fetch, 4) == 40  # outside a workflow: plain

    asyncio.run(main())


def test_async_step_outside_a_workflow_is_a_plain_call(dbos: None) -> None:
    assert asyncio.run(fetch(3)) == 30
    assert DBOS.list_workflows() == []


def test_async_workflow_recovers_from_its_log(system_database_url: str, dbos: None) -> None:
    from transact._core.checkpoint import Checkpoint
    from transact._facade.launched import runtime

    rt = runtime()
    rt.store.insert_workflow(
        rt.new_record(rt.spec("async_workflow", "a-crashed"), "a-crashed", (1,), {})
    )
    for function_id, value in ((1, 10), (2, 20)):
        rt.store.record_checkpoint(
            "a-crashed", Checkpoint(function_id, "fetch", output=rt.serializer.serialize(value))
        )
    DBOS.destroy()
    DBOS(config={"name": "test-async", "system_database_url": system_database_url})
    DBOS.launch()
    assert DBOS.retrieve_workflow("a-crashed").get_result(polling_interval_sec=0.01) == 33
    assert runs["fetch"] == 0  # both recorded async steps replayed
    assert runs["sync"] == 1


def test_gathered_twins_take_their_ids_in_call_order(
    dbos: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages, events and streams twins gathered in workflow code take their function
    ids before their first await: in call order, so a replay (here a fork after them
    all) meets the same history. The worker threads are made to start in reverse order,
    so ids taken in a thread would come out reversed."""
    count = 6
    real_to_thread = asyncio.to_thread
    calls = 0

    async def reversed_threads(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        # The gathered receives (recorded with what they received): the first starts last.
        if getattr(func, "__name__", "") == "recv" or any(isinstance(a, Recv) for a in args):
            calls += 1
            await asyncio.sleep(0.01 * max(count - calls, 0))
        return await real_to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", reversed_threads)
    with SetWorkflowID("gathering"):
        result = asyncio.run(gathering_twins(count))
    assert result == [f"{i}:{i}" for i in range(count)]
    steps = DBOS.list_workflow_steps("gathering")
    sets = [s for s in steps if s["function_name"] == "DBOS.setEvent"]
    assert [s["function_id"] for s in sets] == list(range(1, count + 1))
    sends = [s for s in steps if s["function_name"] == "DBOS.send"]
    assert [s["function_id"] for s in sends] == list(range(count + 1, 2 * count + 1))
    # recv takes two ids each (recv, then its sleep), in call order: topic t<i> (which
    # received i) at the i-th pair of ids.
    recvs = [s for s in steps if s["function_name"] == "DBOS.recv"]
    first_recv = recvs[0]["function_id"]
    assert [s["function_id"] for s in recvs] == [first_recv + 2 * i for i in range(count)]
    assert [s["output"] for s in recvs] == list(range(count))
    last = max(s["function_id"] for s in steps)
    forked = DBOS.fork_workflow("gathering", last + 1)
    assert forked.get_result() == result
