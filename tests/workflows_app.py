"""Workflows shared by the behaviour tests (the registry is process-wide)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from transact import DBOS, fx

# Side effects counted outside the library: proof that a step ran, and how often.
calls: Counter[str] = Counter()
gate = threading.Event()


def reset() -> None:
    calls.clear()
    gate.clear()


@DBOS.step()
def add(a: int, b: int) -> int:
    calls["add"] += 1
    return a + b


@DBOS.step()
def fail(message: str) -> None:
    calls["fail"] += 1
    raise ValueError(message)


@DBOS.step(retries_allowed=True, interval_seconds=0.001, max_attempts=3, backoff_rate=1.0)
def flaky(succeed_on: int) -> int:
    calls["flaky"] += 1
    if calls["flaky"] < succeed_on:
        raise ConnectionError(f"attempt {calls['flaky']}")
    return calls["flaky"]


@DBOS.step()
def wait_for_gate() -> str:
    calls["gate"] += 1
    gate.wait(10)
    return "opened"


@DBOS.workflow()
def two_steps(x: int) -> int:
    y = add(x, 1)
    return add(y, 10)


@DBOS.workflow()
def failing(message: str) -> None:
    fail(message)


@DBOS.workflow()
def catches(message: str) -> str:
    try:
        fail(message)
    except ValueError as exc:
        return f"caught {exc}"
    return "not reached"


@DBOS.workflow()
def retrying(succeed_on: int) -> int:
    return flaky(succeed_on)


@DBOS.workflow()
def sleeper(seconds: float) -> str:
    DBOS.sleep(seconds)
    return "awake"


@DBOS.workflow()
def gated() -> str:
    first = wait_for_gate()
    add(1, 1)
    return first


@DBOS.workflow()
def context_probe() -> dict[str, Any]:
    inside = DBOS.run_step(None, lambda: (DBOS.workflow_id, DBOS.step_id))
    return {"workflow_id": DBOS.workflow_id, "step_id": DBOS.step_id, "inside_step": inside}


@DBOS.workflow()
def run_step_workflow() -> int:
    return DBOS.run_step(None, lambda x: x * 2, 21)


@DBOS.workflow()
def parent_of_two(x: int) -> int:
    handle = DBOS.start_workflow(two_steps, x)
    direct = two_steps(x + 1)
    return handle.get_result() + direct


@DBOS.workflow()
def returns_lock() -> Any:
    return threading.Lock()


@DBOS.workflow()
def fx_workflow(x: int) -> fx.Program[int]:
    y = yield from fx.step(add, x, 2)
    yield from fx.sleep(0.001)
    z = yield from fx.call(two_steps, y)
    handle = yield from fx.start(two_steps, z)
    return (yield from fx.get_result(handle))


@DBOS.workflow()
def fx_catches() -> fx.Program[str]:
    try:
        yield from fx.step(fail, "boom")
    except ValueError as exc:
        return f"caught {exc}"
    return "not reached"


@DBOS.workflow(max_recovery_attempts=1)
def fragile() -> str:
    return "done"


def plain_function(x: int) -> int:
    return x
