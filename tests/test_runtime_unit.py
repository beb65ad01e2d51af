"""The runtime on its own: built directly with the memory store and a fake clock, with
no DBOS facade."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from transact._core.checkpoint import Checkpoint
from transact._core.effects import RunStep
from transact._core.status import WorkflowStatusString as S
from transact._runtime.options import StartOptions
from transact._runtime.registry import REGISTRY, WorkflowSpec
from transact._runtime.runtime import Runtime
from transact._serialization.serializers import DefaultSerializer
from transact._store.memory import MemoryStore
from transact.testing import FakeClock

CALLS: list[int] = []


def add_one(n: int) -> int:
    CALLS.append(n)
    return n + 1


def counting(n: int) -> Generator[Any, Any, int]:
    a = yield RunStep("unit.add_one", add_one, (n,))
    b = yield RunStep("unit.add_one", add_one, (a,))
    return int(b)


RELEASE = threading.Event()
BLOCKED = threading.Event()


def block() -> None:
    # Real time: the fake clock cannot skip it, so only the watchdog can end the workflow.
    BLOCKED.set()
    RELEASE.wait(30)


def blocking() -> Generator[Any, Any, None]:
    yield RunStep("unit.block", block)


COUNTING = WorkflowSpec("unit.counting", counting, is_generator=True)
BLOCKING = WorkflowSpec("unit.blocking", blocking, is_generator=True)


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    CALLS.clear()
    built = Runtime(
        MemoryStore(),
        serializer=DefaultSerializer(),
        clock=FakeClock(),
        executor_id="local",
        application_version="unit",
        poll_seconds=0.05,
    )
    yield built
    built.shutdown()


def test_a_workflow_runs_and_records_its_steps(runtime: Runtime) -> None:
    workflow_id, future = runtime.start(
        COUNTING, (1,), {}, options=StartOptions(workflow_id="wf-count"), inline=False
    )
    assert future is not None
    assert future.result(timeout=10) == 3
    assert workflow_id == "wf-count"
    assert CALLS == [1, 2]
    log = runtime.store.load_checkpoints(workflow_id)
    assert [(c.function_id, c.function_name) for c in log] == [
        (1, "unit.add_one"),
        (2, "unit.add_one"),
    ]
    record = runtime.store.get_workflow(workflow_id)
    assert record is not None and record.status == S.SUCCESS.value


def test_a_timeout_fires_through_the_watchdog_with_the_fake_clock(runtime: Runtime) -> None:
    RELEASE.clear()
    BLOCKED.clear()
    workflow_id, _ = runtime.start(
        BLOCKING, (), {}, options=StartOptions(timeout_seconds=60.0), inline=False
    )
    try:
        assert BLOCKED.wait(10)
        clock = runtime.clock
        assert isinstance(clock, FakeClock)
        clock.advance(61.0)
        # Real time: the watchdog looks every FAKE_CLOCK_SLICE real seconds.
        for _ in range(1000):
            record = runtime.store.get_workflow(workflow_id, load_input=False)
            if record is not None and record.status != S.PENDING.value:
                break
            time.sleep(0.01)
    finally:
        RELEASE.set()
    assert record is not None and record.status == S.CANCELLED.value


def test_recovery_reruns_a_pending_workflow_from_its_log(runtime: Runtime) -> None:
    REGISTRY.add_workflow(COUNTING)
    record = runtime.new_record(COUNTING, "wf-recover", (1,), {})
    runtime.insert(record)
    runtime.store.record_checkpoint(
        "wf-recover",
        Checkpoint(
            1,
            "unit.add_one",
            output=runtime.serializer.serialize(2),
            started_at_epoch_ms=0,
            completed_at_epoch_ms=0,
        ),
    )
    assert runtime.recover_pending() == ["wf-recover"]
    future = runtime.future("wf-recover")
    result = future.result(timeout=10) if future is not None else None
    if result is None:  # it may have finished before we asked for its future
        done = runtime.wait_terminal("wf-recover", timeout=10.0)
        assert done is not None and done.status == S.SUCCESS.value
        result = runtime.serializer.deserialize(done.output or "")
    assert result == 3
    assert CALLS == [2]  # step 1 came from the log; only step 2 ran
