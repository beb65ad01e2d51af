"""The debouncer on every store: a burst of calls with one key runs the workflow once
with the last arguments, bounded by the timeout; keys are independent; a key comes back
once its workflow started; misuse raises DBOS's errors."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import pytest

from transact import DBOS, Debouncer, SetEnqueueOptions
from transact._runtime.queue_runner import QUEUES
from transact.errors import DBOSException, DBOSQueueDeduplicatedError

lock = threading.Lock()
calls: list[tuple[str, int]] = []


@DBOS.workflow()
def collect(tag: str, n: int) -> int:
    with lock:
        calls.append((tag, n))
    return n


@pytest.fixture
def dbos(system_database_url: str) -> Iterator[type[DBOS]]:
    before = {q.name for q in QUEUES.all()}
    calls.clear()
    DBOS.destroy()
    DBOS(config={"name": "debouncer-tests", "system_database_url": system_database_url})
    DBOS.launch()
    yield DBOS
    DBOS.destroy()
    for q in QUEUES.all():
        if q.name not in before:
            QUEUES.remove(q.name)


def fast_queue() -> str:
    return DBOS.register_queue(f"deb-{uuid.uuid4().hex[:8]}", polling_interval_sec=0.05).name


def test_a_burst_runs_once_with_the_last_arguments(dbos: type[DBOS]) -> None:
    debouncer = Debouncer.create(collect, queue=fast_queue())
    handles = [debouncer.debounce("k", 0.5, "burst", n) for n in range(5)]
    assert len({h.workflow_id for h in handles}) == 1
    assert handles[0].get_status().status == "DELAYED"
    assert handles[0].get_result() == 4
    assert calls == [("burst", 4)]
    # The key came back: the next call starts a new workflow.
    later = debouncer.debounce("k", 0.0, "again", 7)
    assert later.workflow_id != handles[0].workflow_id
    assert later.get_result() == 7


def test_keys_are_independent_and_the_internal_queue_is_the_default(dbos: type[DBOS]) -> None:
    debouncer = Debouncer.create(collect)
    a = debouncer.debounce("a", 0.1, "a", 1)
    b = debouncer.debounce("b", 0.1, "b", 2)
    assert a.workflow_id != b.workflow_id
    assert (a.get_result(), b.get_result()) == (1, 2)
    assert a.get_status().queue_name == "_dbos_internal_queue"


def test_the_timeout_bounds_the_delay(dbos: type[DBOS]) -> None:
    debouncer = Debouncer.create(collect, debounce_timeout_sec=0.5, queue=fast_queue())
    first = debouncer.debounce("k", 60, "t", 1)
    # The first call's deadline (0.5 s), not its 60 s period, is when it starts.
    deadline = first.get_status().delay_until_epoch_ms
    created = first.get_status().created_at or 0
    assert deadline is not None and deadline - created < 60_000
    for n in range(2, 5):
        debouncer.debounce("k", 60, "t", n)
    assert first.get_status().delay_until_epoch_ms == deadline  # bounces never pass it
    assert first.get_result() == 4


def test_async_debounce(dbos: type[DBOS]) -> None:
    queue = fast_queue()  # registered before the loop runs: register_queue is blocking

    async def body() -> int:
        debouncer = await Debouncer.create_async(collect, queue=queue)
        handle = await debouncer.debounce_async("k", 0.05, "async", 3)
        return int(await handle.get_result())

    assert asyncio.run(body()) == 3


def test_misuse(dbos: type[DBOS]) -> None:
    queue = fast_queue()
    debouncer = Debouncer.create(collect, queue=queue)
    for options, message in [
        ({"deduplication_id": "d"}, "with a deduplication_id set"),
        ({"delay_seconds": 1}, "with a delay set"),
        ({"priority": 1}, "with a priority set"),
        ({"queue_partition_key": "p"}, "with a queue partition key set"),
        ({"duplication_policy": "return-existing"}, "duplication_policy 'return-existing'"),
    ]:
        with SetEnqueueOptions(**options), pytest.raises(DBOSException, match=message):  # type: ignore[arg-type]
            debouncer.debounce("k", 1, "x", 1)

    class Holder:
        def method(self) -> None:
            pass

    with pytest.raises(TypeError, match="not methods"):
        Debouncer.create(Holder().method)
    with pytest.raises(DBOSException, match="is not a registered workflow function"):
        Debouncer.create(lambda: None)
    # The key held by a workflow that is not a debounce of it.
    with SetEnqueueOptions(deduplication_id=f"{collect.__qualname__}-held", delay_seconds=60):
        DBOS.enqueue_workflow(queue, collect, "plain", 0)
    with pytest.raises(DBOSQueueDeduplicatedError):
        debouncer.debounce("held", 1, "x", 1)


@DBOS.workflow()
def debounce_from_a_workflow(queue: str) -> str:
    return Debouncer.create(collect, queue=queue).debounce("wf", 0.05, "inner", 9).workflow_id


def test_a_debounce_is_a_step_in_a_workflow(dbos: type[DBOS]) -> None:
    handle = DBOS.start_workflow(debounce_from_a_workflow, fast_queue())
    child = handle.get_result()
    steps = DBOS.list_workflow_steps(handle.workflow_id)
    assert [(s["function_name"], s["output"]) for s in steps] == [
        ("DBOS.debounce_delayed_workflow", child)
    ]
    assert DBOS.retrieve_workflow(child).get_result() == 9
