"""``transact.testing.replay``: recorded histories checked against the code as it is now."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from transact import DBOS, SetWorkflowID
from transact.errors import DBOSException, NondeterminismError
from transact.testing import ReplayDivergence, replay

runs: Counter[str] = Counter()


@DBOS.step()
def charge(cents: int) -> int:
    runs["charge"] += 1
    return cents


@DBOS.step(name="replay_refund")  # examples/fastapi_app.py has a workflow named refund
def refund(cents: int) -> int:
    runs["refund"] += 1
    return -cents


def register(body: Callable[[int], Any]) -> None:
    """(Re)define the workflow named "evolving", as a code change would."""
    DBOS.workflow(name="evolving")(body)


def version_1(cents: int) -> int:
    total = charge(cents)
    DBOS.sleep(0.001)
    return total + charge(1)


def version_2_reordered(cents: int) -> int:
    DBOS.sleep(0.001)
    return charge(cents) + charge(1)


def version_3_new_result(cents: int) -> int:
    total = charge(cents)
    DBOS.sleep(0.001)
    return total + charge(1) + 1000


def failing_version(cents: int) -> int:
    charge(cents)
    raise ValueError(f"declined {cents}")


@pytest.fixture
def dbos(system_database_url: str) -> Iterator[None]:
    runs.clear()
    DBOS.destroy()
    DBOS(config={"name": "test-replay", "system_database_url": system_database_url})
    DBOS.launch()
    yield
    DBOS.destroy()
    register(version_1)


def run_evolving(workflow_id: str, cents: int) -> Any:
    with SetWorkflowID(workflow_id):
        return DBOS.start_workflow(DBOS.workflow(name="evolving")(version_1), cents).get_result()


def test_unchanged_code_replays_without_running_anything(dbos: None) -> None:
    assert run_evolving("r-1", 10) == 11
    runs.clear()
    assert replay("r-1") == 11
    assert runs == Counter()


def test_reordered_operations_are_non_deterministic(dbos: None) -> None:
    run_evolving("r-2", 10)
    register(version_2_reordered)
    with pytest.raises(NondeterminismError, match="step 1"):
        replay("r-2")


def test_a_different_result_diverges(dbos: None) -> None:
    run_evolving("r-3", 10)
    register(version_3_new_result)
    with pytest.raises(ReplayDivergence, match="1011"):
        replay("r-3")


def test_recorded_errors_replay(dbos: None) -> None:
    register(failing_version)
    with SetWorkflowID("r-4"), pytest.raises(ValueError):
        DBOS.start_workflow(DBOS.workflow(name="evolving")(failing_version), 5).get_result()
    assert replay("r-4") is None
    register(version_1)
    with pytest.raises(NondeterminismError):  # the new code goes past the recorded history
        replay("r-4")


def test_only_finished_workflows_replay(dbos: None) -> None:
    with pytest.raises(DBOSException, match="Non-existent target workflow ID: missing"):
        replay("missing")
