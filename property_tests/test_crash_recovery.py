"""Property: for any program and a crash right after any durable write, recovery gives
the crash-free result, and no step whose outcome was recorded runs again."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from property_tests.crash_programs import interpret, programs, runs
from tests.strategies import Op
from transact import DBOS, SetWorkflowID
from transact._core.checkpoint import Checkpoint
from transact._facade.launched import runtime


class Crash(BaseException):
    """The process dies here (a BaseException, so nothing records it)."""


def launch(url: str) -> None:
    DBOS.destroy()
    DBOS(config={"name": "prop-crash", "system_database_url": url})
    DBOS.launch()


def crash_after(writes: int) -> Callable[[], None]:
    """Make the store die right after its ``writes``-th checkpoint; returns an undo."""
    store = runtime().store
    original: Callable[[str, Checkpoint], None] = store.record_checkpoint
    count = 0

    def record_then_maybe_die(workflow_id: str, checkpoint: Checkpoint) -> None:
        nonlocal count
        original(workflow_id, checkpoint)
        count += 1
        if count == writes:
            raise Crash()

    store.record_checkpoint = record_then_maybe_die  # type: ignore[method-assign]
    return lambda: vars(store).pop("record_checkpoint", None)


def count_writes(url: str, program: list[Op]) -> tuple[list[int], int]:
    launch(url)
    tag = uuid.uuid4().hex
    with SetWorkflowID(tag):
        expected = interpret(tag, program)
    rt = runtime()
    ids = [tag] + [s.workflow_id for s in DBOS.list_workflows(workflow_id_prefix=tag + "-")]
    return expected, sum(len(rt.store.load_checkpoints(i)) for i in ids)


def url_for(kind: str, tmp: pathlib.Path, request: pytest.FixtureRequest) -> str:
    if kind == "memory":
        return f"memory://prop-{uuid.uuid4().hex}"
    if kind == "postgres":
        # One database for every example: each example's workflows have their own ids.
        url: str = request.getfixturevalue("postgres_database_url")
        return url
    return f"sqlite:///{tmp}/prop-{uuid.uuid4().hex}.sqlite"


@pytest.mark.parametrize(
    "kind", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(program=programs, data=st.data())
def test_recovery_after_a_crash_matches_a_clean_run(
    kind: str,
    tmp_path: pathlib.Path,
    request: pytest.FixtureRequest,
    program: list[Op],
    data: Any,
) -> None:
    url = url_for(kind, tmp_path, request)
    expected, writes = count_writes(url, program)
    crash_at = data.draw(st.integers(1, writes), label="crash after write")

    runs.clear()
    tag = uuid.uuid4().hex
    undo = crash_after(crash_at)
    try:
        with pytest.raises(Crash), SetWorkflowID(tag):
            interpret(tag, program)
    finally:
        undo()
    launch(url)  # the restart: recovery re-runs the PENDING workflows from their logs
    try:
        assert DBOS.retrieve_workflow(tag).get_result(polling_interval_sec=0.01) == expected
        assert all(n == 1 for n in runs.values()), runs
        steps = sum(1 for kind_, _ in program if kind_ in ("step", "fail", "child"))
        assert sum(runs.values()) == steps
    finally:
        DBOS.destroy()
