"""The hot path, counted at the Store boundary: a new workflow reads nothing, and each
step costs exactly one write (DESIGN.md: "a step costs one write")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from transact import DBOS
from transact._facade.launched import runtime


@DBOS.step()
def noop(i: int) -> int:
    return i


@DBOS.workflow()
def ten_steps() -> int:
    return sum(noop(i) for i in range(10))


@pytest.fixture
def store_calls(system_database_url: str) -> Iterator[Counter[str]]:
    DBOS.destroy()
    DBOS(config={"name": "test-hot", "system_database_url": system_database_url})
    DBOS.launch()
    calls: Counter[str] = Counter()
    store = runtime().store
    for name in dir(type(store)):
        if name.startswith("_") or name in ("close", "subscribe"):
            continue
        method = getattr(store, name)
        if callable(method):
            setattr(store, name, counting(calls, name, method))
    yield calls
    for name in list(vars(store)):
        if name in calls or callable(vars(store)[name]):
            delattr(store, name)
    DBOS.destroy()


def counting(calls: Counter[str], name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return method(*args, **kwargs)

    return counted


def test_a_new_workflow_costs_one_write_per_step_and_no_reads(store_calls: Counter[str]) -> None:
    store_calls.clear()  # launch's recovery scan is not part of a workflow
    assert ten_steps() == 45
    assert store_calls == Counter(insert_workflow=1, record_checkpoint=10, finish_workflow=1)


def test_a_started_workflow_awaited_here_reads_nothing_either(store_calls: Counter[str]) -> None:
    store_calls.clear()
    assert DBOS.start_workflow(ten_steps).get_result() == 45
    assert store_calls == Counter(insert_workflow=1, record_checkpoint=10, finish_workflow=1)
