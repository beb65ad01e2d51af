"""The pure core: decisions, the status table, the log, ids, retry policy, purity."""

from __future__ import annotations

import ast
import pathlib

import pytest

from transact._core.checkpoint import Checkpoint, CheckpointLog
from transact._core.decide import EXECUTE, Mismatch, Replay, decide
from transact._core.effects import GetEvent, Recv, RunStep, Sleep, StartChild
from transact._core.ids import child_workflow_id, validate_workflow_id
from transact._core.retry import RetryPolicy
from transact._core.status import (
    TERMINAL,
    IllegalTransition,
    StatusEvent,
    WorkflowStatusString,
    sources,
    transition,
)

S = WorkflowStatusString


def add(a: int, b: int) -> int:
    return a + b


def test_new_workflow_executes_without_looking_anything_up() -> None:
    assert decide(CheckpointLog(), 1, Sleep(1.0)) is EXECUTE


def test_recorded_position_replays_its_checkpoint() -> None:
    checkpoint = Checkpoint(1, "add", output="3")
    decision = decide(CheckpointLog.of([checkpoint]), 1, RunStep("add", add, (1, 2)))
    assert decision == Replay(checkpoint)


def test_different_name_at_a_position_is_a_mismatch() -> None:
    log = CheckpointLog.of([Checkpoint(1, "charge")])
    assert decide(log, 1, Sleep(1.0)) == Mismatch(1, "charge", "DBOS.sleep")


def test_effects_compare_by_value_and_name_their_checkpoints() -> None:
    assert RunStep("add", add, (1, 2)) == RunStep("add", lambda a, b: 0, (1, 2))
    assert RunStep("add", add, (1, 2)) != RunStep("add", add, (1, 3))
    assert StartChild("child", (1,)) == StartChild("child", (1,), run_inline=True)
    assert Recv("t", 5).checkpoint_name == "DBOS.recv"
    assert (Recv.ids, GetEvent.ids, Sleep.ids) == (2, 2, 1)


def test_log_prefix_and_last_id() -> None:
    log = CheckpointLog.of([Checkpoint(i, f"s{i}") for i in (3, 1, 2)])
    assert log.last_function_id == 3
    assert sorted(log.before(3).entries) == [1, 2]
    assert not CheckpointLog()


def test_status_table() -> None:
    assert transition(S.PENDING, StatusEvent.SUCCEED) is S.SUCCESS
    assert transition(S.ENQUEUED, StatusEvent.DEQUEUE) is S.PENDING
    assert transition(S.CANCELLED, StatusEvent.RESUME) is S.ENQUEUED
    with pytest.raises(IllegalTransition):
        transition(S.SUCCESS, StatusEvent.CANCEL)
    assert sources(StatusEvent.CANCEL) == {S.PENDING, S.ENQUEUED, S.DELAYED}
    # Nothing leaves a terminal status except by resume.
    for status in TERMINAL:
        for event in StatusEvent:
            if event is not StatusEvent.RESUME:
                with pytest.raises(IllegalTransition):
                    transition(status, event)


def test_child_ids_are_deterministic() -> None:
    assert child_workflow_id("order-7", 3) == "order-7-3"
    assert validate_workflow_id("x") == "x"
    for bad in ("", "   ", 5):
        with pytest.raises(ValueError):
            validate_workflow_id(bad)


def test_retry_policy() -> None:
    policy = RetryPolicy(
        retries_allowed=True, interval_seconds=1.0, max_attempts=4, backoff_rate=3.0
    )
    assert policy.attempts == 4
    assert [policy.delay_after(i) for i in range(3)] == [1.0, 3.0, 9.0]
    assert RetryPolicy(max_attempts=5).attempts == 1
    assert (
        RetryPolicy(retries_allowed=True, interval_seconds=10, backoff_rate=100).delay_after(5)
        == 3600
    )
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(interval_seconds=-1)


FORBIDDEN = {
    "os",
    "io",
    "socket",
    "threading",
    "asyncio",
    "time",
    "datetime",
    "random",
    "uuid",
    "subprocess",
    "sqlite3",
    "sqlalchemy",
    "psycopg",
    "concurrent",
    "multiprocessing",
    "logging",
    "pathlib",
    "shutil",
    "tempfile",
    "urllib",
    "http",
    "select",
    "signal",
}


def test_core_imports_nothing_that_does_io_threads_or_reads_the_clock() -> None:
    core = pathlib.Path(__file__).parents[1] / "src" / "transact" / "_core"
    for path in core.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in FORBIDDEN, f"{path.name} imports {name}"
                if top == "transact":
                    assert name.startswith("transact._core"), f"{path.name} imports {name}"
