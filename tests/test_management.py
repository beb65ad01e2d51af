"""Workflow management through the public API, on every store: cancel, resume, delete,
fork, child workflows, timeouts and recovery limits.

Each test runs on memory, SQLite and Postgres (the ``system_database_url`` fixture).
Steps count their runs in ``calls`` (outside the library), which is how the tests prove
what ran again and what did not. A "restart" destroys the runtime and launches a new
one on the same URL (``memory://`` URLs keep their data within the process).
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from tests.waiting import status_of, wait_until
from transact import (
    DBOS,
    DBOSAwaitedWorkflowCancelledError,
    DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded,
    DBOSConfig,
    DBOSConflictingWorkflowError,
    DBOSNonExistentWorkflowError,
    SetWorkflowID,
    SetWorkflowTimeout,
    WorkflowHandle,
)
from transact._core.checkpoint import Checkpoint
from transact._facade.launched import runtime
from transact._runtime import watchdog as watchdog_module
from transact._store.records import WorkflowRecord
from transact.testing import FakeClock, launched

NAME = "test-mgmt"

calls: Counter[str] = Counter()
gate = threading.Event()
in_gate = threading.Event()


@DBOS.step(name="mgmt.mark")
def mark(label: str) -> str:
    calls[label] += 1
    return label


@DBOS.step(name="mgmt.wait_gate")
def wait_gate() -> str:
    calls["gate"] += 1
    in_gate.set()
    gate.wait(10)
    return "gate"


@DBOS.workflow(name="mgmt_three")
def three(tag: str) -> list[str]:
    return [mark(f"{tag}1"), mark(f"{tag}2"), mark(f"{tag}3")]


@DBOS.workflow(name="mgmt_gated")
def gated() -> list[str]:
    return [mark("one"), mark("two"), wait_gate(), mark("three")]


@DBOS.workflow(name="mgmt_sleeper")
def sleeper(seconds: float) -> str:
    mark("before")
    DBOS.sleep(seconds)
    mark("after")
    return "awake"


@DBOS.workflow(name="mgmt_parent")
def parent(seconds: float) -> str:
    return DBOS.start_workflow(sleeper, seconds).get_result()


@DBOS.workflow(name="mgmt_detaching_parent")
def detaching_parent(seconds: float) -> str:
    with SetWorkflowTimeout(None):
        handle = DBOS.start_workflow(sleeper, seconds)
    DBOS.sleep(60)
    return handle.get_result()


@DBOS.workflow(name="mgmt_tree")
def tree(depth: int) -> int:
    mark(f"tree{depth}")
    return 1 + (tree(depth - 1) if depth > 0 else 0)


@DBOS.workflow(name="mgmt_chatty")
def chatty() -> str:
    DBOS.set_event("k", "a")  # 1
    DBOS.write_stream("s", 1)  # 2
    mark("chatty")  # 3
    DBOS.set_event("k", "b")  # 4
    DBOS.write_stream("s", 2)  # 5
    return "chatted"


@DBOS.workflow(name="mgmt_receiver")
def receiver() -> Any:
    return DBOS.recv("t", timeout_seconds=0)


@DBOS.workflow(name="mgmt_with_child")
def with_child(tag: str) -> list[str]:
    first = mark(f"{tag}-parent")  # 1
    return [first, *three(tag)]  # child at 2, its result at 3


@DBOS.workflow(name="mgmt_operator")
def operator(target: str, other: str) -> str:
    DBOS.cancel_workflow(target)  # 1
    DBOS.resume_workflow(target)  # 2
    fork = DBOS.fork_workflow(other, 2)  # 3 and 4 (DBOS.getStatus)
    DBOS.delete_workflow(other)  # 5
    return fork.workflow_id


@DBOS.workflow(name="mgmt_fragile", max_recovery_attempts=1)
def fragile() -> str:
    return mark("fragile")


def launch(url: str) -> None:
    DBOS.destroy(destroy_registry=False)  # a test that failed half-way may have left one
    DBOS(config={"name": NAME, "system_database_url": url})
    DBOS.launch()


@pytest.fixture
def url(system_database_url: str) -> Iterator[str]:
    """A launched DBOS on a fresh system database of each store kind."""
    calls.clear()
    gate.clear()
    in_gate.clear()
    launch(system_database_url)
    yield system_database_url
    gate.set()  # never leave a step blocked for the next test
    DBOS.destroy(destroy_registry=False)


def steps(workflow_id: str) -> list[tuple[int, str]]:
    return [(s["function_id"], s["function_name"]) for s in DBOS.list_workflow_steps(workflow_id)]


def sleeping(workflow_id: str) -> Callable[[], bool]:
    """True once the workflow has recorded its durable sleep."""
    return lambda: any(name == "DBOS.sleep" for _, name in steps(workflow_id))


# --- cancel ---------------------------------------------------------------------------


def test_cancel_lets_the_running_step_finish_but_not_its_successor(url: str) -> None:
    handle = DBOS.start_workflow(gated)
    assert in_gate.wait(10)
    DBOS.cancel_workflow(handle.workflow_id)
    assert status_of(handle.workflow_id) == "CANCELLED"  # at once, before the step ends
    gate.set()
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result()
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):  # a fresh handle, too
        DBOS.retrieve_workflow(handle.workflow_id).get_result(polling_interval_sec=0.01)
    assert calls == Counter({"one": 1, "two": 1, "gate": 1})  # "three" never started
    # The step in flight finished, but its outcome was not recorded after the cancel.
    assert [name for _, name in steps(handle.workflow_id)] == ["mgmt.mark", "mgmt.mark"]


def test_resume_after_cancel_runs_only_what_was_not_recorded(url: str) -> None:
    handle = DBOS.start_workflow(gated)
    assert in_gate.wait(10)
    DBOS.cancel_workflow(handle.workflow_id)
    gate.set()
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result()
    resumed = DBOS.resume_workflow(handle.workflow_id)
    assert resumed.workflow_id == handle.workflow_id
    assert resumed.get_result(polling_interval_sec=0.01) == ["one", "two", "gate", "three"]
    # Recorded steps were replayed; the unrecorded step in flight ran again.
    assert calls == Counter({"one": 1, "two": 1, "gate": 2, "three": 1})
    status = DBOS.get_workflow_status(handle.workflow_id)
    assert status is not None and status.status == "SUCCESS"
    assert status.recovery_attempts == 1  # reset by resume, then one claim


def test_cancel_cuts_a_durable_sleep_short(url: str) -> None:
    handle = DBOS.start_workflow(sleeper, 60)
    wait_until(sleeping(handle.workflow_id))
    started = time.monotonic()
    DBOS.cancel_workflow(handle.workflow_id)
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result()
    assert time.monotonic() - started < 5
    assert calls["after"] == 0


def test_cancel_of_a_finished_or_unknown_workflow_does_nothing(url: str) -> None:
    done = DBOS.start_workflow(three, "x")
    assert done.get_result() == ["x1", "x2", "x3"]
    DBOS.cancel_workflow(done.workflow_id)
    assert status_of(done.workflow_id) == "SUCCESS"
    assert DBOS.retrieve_workflow(done.workflow_id).get_result() == ["x1", "x2", "x3"]
    DBOS.cancel_workflow("no-such-workflow")  # no error, nothing written
    assert DBOS.get_workflow_status("no-such-workflow") is None
    # Resuming a finished workflow does nothing either: nothing runs again.
    assert DBOS.resume_workflow(done.workflow_id).get_result() == ["x1", "x2", "x3"]
    assert calls == Counter({"x1": 1, "x2": 1, "x3": 1})


# --- resume ---------------------------------------------------------------------------


def test_resume_after_a_crash_continues_from_the_log(url: str) -> None:
    # A crashed executor left a PENDING row with step 1 recorded; nobody will recover it
    # (it belongs to another executor), so an operator resumes it here.
    rt = runtime()
    record = rt.new_record(rt.spec("mgmt_three", "crashed"), "crashed", ("c",), {})
    rt.store.insert_workflow(attrs.evolve(record, executor_id="dead-executor"))
    rt.store.record_checkpoint(
        "crashed", Checkpoint(1, "mgmt.mark", output=rt.serializer.serialize("c1"))
    )
    handle = DBOS.resume_workflow("crashed")
    assert handle.get_result(polling_interval_sec=0.01) == ["c1", "c2", "c3"]
    assert calls == Counter({"c2": 1, "c3": 1})  # step 1 was not run again
    status = DBOS.get_workflow_status("crashed")
    assert status is not None and status.executor_id == "local"


def test_resume_of_an_unknown_workflow_raises(url: str) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.resume_workflow("no-such-workflow")


def test_recovery_limit_dead_letters_and_resume_revives(url: str) -> None:
    rt = runtime()
    rt.store.insert_workflow(rt.new_record(rt.spec("mgmt_fragile", "frail"), "frail", (), {}))
    rt.store.begin_recovery("frail", "local", 0)  # a recovery that crashed again
    launch(url)  # attempt 3 > limit 1 + 1: dead-lettered instead of run
    assert status_of("frail") == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
    with pytest.raises(DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded):
        DBOS.get_result("frail")
    assert calls["fragile"] == 0
    assert DBOS.resume_workflow("frail").get_result(polling_interval_sec=0.01) == "fragile"
    assert status_of("frail") == "SUCCESS"


# --- delete ---------------------------------------------------------------------------


def test_delete_removes_the_row_checkpoints_events_streams_and_messages(url: str) -> None:
    with SetWorkflowID("chatty"):
        assert chatty() == "chatted"
    DBOS.send("chatty", "stale", "t")  # a message nobody received
    DBOS.delete_workflow("chatty")
    assert DBOS.get_workflow_status("chatty") is None
    assert DBOS.list_workflow_steps("chatty") == []
    assert DBOS.get_all_events("chatty") == {}
    assert runtime().store.read_stream("chatty", "s", 0).value is None
    # The id is free again, and the new workflow sees none of the old one's messages.
    with SetWorkflowID("chatty"):
        assert receiver() is None
    assert steps("chatty") == [(1, "DBOS.recv"), (2, "DBOS.sleep")]


def test_delete_children_recursively(url: str) -> None:
    for root in ("keep", "drop"):
        with SetWorkflowID(root):
            assert tree(2) == 3
    family = ["drop", "drop-2", "drop-2-2"]
    assert {s.workflow_id for s in DBOS.list_workflows(workflow_id_prefix="drop")} == set(family)
    DBOS.delete_workflow("keep")  # without delete_children the children stay
    assert {s.workflow_id for s in DBOS.list_workflows()} == {"keep-2", "keep-2-2", *family}
    DBOS.delete_workflow("drop", True)  # positionally, as DBOS allows
    assert {s.workflow_id for s in DBOS.list_workflows()} == {"keep-2", "keep-2-2"}
    DBOS.delete_workflow("keep-2", delete_children=True)
    assert DBOS.list_workflows() == []


def test_delete_of_an_unknown_workflow_raises(url: str) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.delete_workflow("no-such-workflow")


def test_delete_stops_a_running_workflow(url: str) -> None:
    handle = DBOS.start_workflow(sleeper, 60)
    wait_until(sleeping(handle.workflow_id))
    DBOS.delete_workflow(handle.workflow_id)
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result()
    assert calls["after"] == 0
    assert DBOS.get_workflow_status(handle.workflow_id) is None


# --- fork -----------------------------------------------------------------------------


@pytest.mark.parametrize("start_step", [1, 2, 3, 4])
def test_fork_replays_before_start_step_and_runs_the_rest(url: str, start_step: int) -> None:
    original = DBOS.start_workflow(three, "o")
    assert original.get_result() == ["o1", "o2", "o3"]
    calls.clear()
    fork = DBOS.fork_workflow(original.workflow_id, start_step)
    assert fork.workflow_id != original.workflow_id
    assert fork.get_result() == ["o1", "o2", "o3"]
    assert calls == Counter({f"o{n}": 1 for n in range(start_step, 4)})
    assert steps(fork.workflow_id) == steps(original.workflow_id)
    status = fork.get_status()
    assert status.forked_from == original.workflow_id and status.status == "SUCCESS"
    assert status.input == {"args": ("o",), "kwargs": {}}
    assert status.queue_name == "_dbos_internal_queue"
    assert [s.workflow_id for s in DBOS.list_workflows(forked_from=original.workflow_id)] == [
        fork.workflow_id
    ]
    assert [s.workflow_id for s in DBOS.list_workflows(was_forked_from=True)] == [
        original.workflow_id
    ]


def test_fork_copies_events_and_streams_written_before_start_step(url: str) -> None:
    with SetWorkflowID("chatty"):
        chatty()
    calls.clear()
    # Pinned to another version, the fork waits ENQUEUED: its copied state is visible.
    with SetWorkflowID("chatty-fork"):
        fork = DBOS.fork_workflow("chatty", 4, "another-version")
    assert fork.workflow_id == "chatty-fork"
    status = fork.get_status()
    assert status.status == "ENQUEUED" and status.app_version == "another-version"
    assert steps("chatty-fork") == [(1, "DBOS.setEvent"), (2, "DBOS.writeStream"), (3, "mgmt.mark")]
    assert DBOS.get_all_events("chatty-fork") == {"k": "a"}  # the latest value before step 4
    store = runtime().store
    assert store.read_stream("chatty-fork", "s", 0).value is not None
    assert store.read_stream("chatty-fork", "s", 1).value is None
    # Resume runs it here: steps 4 and 5 run, step 3 is replayed.
    assert DBOS.resume_workflow("chatty-fork").get_result(polling_interval_sec=0.01) == "chatted"
    assert calls["chatty"] == 0
    assert DBOS.get_all_events("chatty-fork") == {"k": "b"}
    assert list(DBOS.read_stream("chatty-fork", "s")) == [1, 2]


def test_fork_of_a_workflow_with_a_child(url: str) -> None:
    with SetWorkflowID("family"):
        assert with_child("f") == ["f-parent", "f1", "f2", "f3"]
    calls.clear()
    # From step 2 the child start runs again: a new child, whose steps all run.
    again = DBOS.fork_workflow("family", 2)
    assert again.get_result() == ["f-parent", "f1", "f2", "f3"]
    assert calls == Counter({"f1": 1, "f2": 1, "f3": 1})
    assert [s.workflow_id for s in DBOS.list_workflows(parent_workflow_id=again.workflow_id)] == [
        f"{again.workflow_id}-2"
    ]
    calls.clear()
    # From step 3 the child start is replayed: the fork awaits the original's child.
    attached = DBOS.fork_workflow("family", 3)
    assert attached.get_result() == ["f-parent", "f1", "f2", "f3"]
    assert calls == Counter()
    assert DBOS.list_workflows(parent_workflow_id=attached.workflow_id) == []
    recorded = {s["function_id"]: s for s in DBOS.list_workflow_steps(attached.workflow_id)}
    assert recorded[2]["child_workflow_id"] == "family-2"


def test_fork_bad_input_writes_nothing(url: str) -> None:
    done = DBOS.start_workflow(three, "b")
    done.get_result()
    before = len(DBOS.list_workflows())
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.fork_workflow("no-such-workflow", 1)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="at least 1"):
            DBOS.fork_workflow(done.workflow_id, bad)
    with pytest.raises(ValueError, match="must be an int"):
        DBOS.fork_workflow(done.workflow_id, True)
    with pytest.raises(ValueError, match="positive"):
        DBOS.fork_workflow(done.workflow_id, 1, timeout_seconds=0)
    with SetWorkflowID(done.workflow_id), pytest.raises(DBOSConflictingWorkflowError):
        DBOS.fork_workflow(done.workflow_id, 1)  # the new id is taken
    assert len(DBOS.list_workflows()) == before
    assert not done.get_status().was_forked_from
    # The end of the log, and past it (as in DBOS): everything is replayed, nothing runs.
    calls.clear()
    assert DBOS.fork_workflow(done.workflow_id, 4).get_result() == ["b1", "b2", "b3"]
    assert DBOS.fork_workflow(done.workflow_id, 50).get_result() == ["b1", "b2", "b3"]
    assert calls == Counter()


def test_fork_of_a_workflow_with_an_empty_log(url: str) -> None:
    rt = runtime()
    rt.store.insert_workflow(  # it failed before its first step
        WorkflowRecord(
            workflow_id="empty",
            status="ERROR",
            name="mgmt_three",
            inputs=rt.serializer.serialize({"args": ("e",), "kwargs": {}}),
        )
    )
    # Any start step copies the (empty) log and runs everything.
    assert DBOS.fork_workflow("empty", 2).get_result() == ["e1", "e2", "e3"]
    assert DBOS.fork_workflow("empty", 1).get_result() == ["e1", "e2", "e3"]


def test_fork_with_a_timeout(url: str) -> None:
    original = DBOS.start_workflow(three, "t")
    original.get_result()
    before = int(time.time() * 1000)
    fork = DBOS.fork_workflow(original.workflow_id, 2, timeout_seconds=30)
    fork.get_result()
    status = fork.get_status()
    assert status.workflow_timeout_ms == 30_000
    deadline = status.workflow_deadline_epoch_ms
    assert deadline is not None and before + 30_000 <= deadline <= time.time() * 1000 + 30_000


# --- management calls inside a workflow -------------------------------------------------


def test_management_calls_in_a_workflow_are_checkpointed(url: str) -> None:
    DBOS.start_workflow(three, "t").get_result()
    target = DBOS.list_workflows(name="mgmt_three")[0].workflow_id
    DBOS.start_workflow(three, "x").get_result()
    other = [
        s.workflow_id for s in DBOS.list_workflows(name="mgmt_three") if s.workflow_id != target
    ]
    with SetWorkflowID("op"):
        fork_id = operator(target, other[0])
    assert steps("op") == [
        (1, "DBOS.cancelWorkflow"),
        (2, "DBOS.resumeWorkflow"),
        (3, "DBOS.forkWorkflow"),
        (4, "DBOS.getStatus"),
        (5, "DBOS.deleteWorkflow"),
    ]
    assert DBOS.retrieve_workflow(fork_id).get_result() == ["x1", "x2", "x3"]
    assert DBOS.get_workflow_status(other[0]) is None
    # Replaying the whole log (a fork at its end) repeats none of the calls: no second
    # fork, and the delete of a now-missing workflow is not attempted again.
    forks_before = len(DBOS.list_workflows(forked_from=other[0]))
    assert DBOS.fork_workflow("op", 6).get_result() == fork_id
    assert len(DBOS.list_workflows(forked_from=other[0])) == forks_before


def test_a_failed_management_call_is_recorded_and_replayed(url: str) -> None:
    @DBOS.workflow(name="mgmt_bad_operator")
    def bad_operator() -> str:
        try:
            DBOS.delete_workflow("no-such-workflow")
        except DBOSNonExistentWorkflowError:
            return "missing"
        return "deleted"

    with SetWorkflowID("bad-op"):
        assert bad_operator() == "missing"
    [step] = DBOS.list_workflow_steps("bad-op")
    assert step["function_name"] == "DBOS.deleteWorkflow"
    assert isinstance(step["error"], DBOSNonExistentWorkflowError)
    assert DBOS.fork_workflow("bad-op", 2).get_result() == "missing"


# --- timeouts -------------------------------------------------------------------------


def test_a_workflow_past_its_deadline_is_cancelled_while_it_sleeps(url: str) -> None:
    started = time.monotonic()
    with SetWorkflowTimeout(0.3):
        handle = DBOS.start_workflow(sleeper, 60)
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result()
    assert time.monotonic() - started < 10
    status = handle.get_status()
    assert status.status == "CANCELLED" and status.workflow_timeout_ms == 300
    assert calls == Counter({"before": 1})


def test_a_workflow_within_its_deadline_finishes(url: str) -> None:
    with SetWorkflowTimeout(30):
        assert three("w") == ["w1", "w2", "w3"]
    assert runtime().watchdog._deadlines == {}  # nothing left watched


def test_children_inherit_the_deadline(url: str) -> None:
    with SetWorkflowID("timed-parent"), SetWorkflowTimeout(0.3):
        handle = DBOS.start_workflow(parent, 60)
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result()
    wait_until(lambda: status_of("timed-parent-1") == "CANCELLED")
    parent_status = handle.get_status()
    child_status = DBOS.retrieve_workflow("timed-parent-1").get_status()
    assert child_status.parent_workflow_id == "timed-parent"
    assert child_status.workflow_deadline_epoch_ms == parent_status.workflow_deadline_epoch_ms
    assert child_status.workflow_timeout_ms is None  # the deadline, not the timeout, passes on


def test_set_workflow_timeout_none_detaches_a_child(url: str) -> None:
    with SetWorkflowID("detacher"), SetWorkflowTimeout(0.2):
        handle = DBOS.start_workflow(detaching_parent, 0.6)
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result()
    child = DBOS.retrieve_workflow("detacher-1")
    assert child.get_result(polling_interval_sec=0.01) == "awake"
    assert child.get_status().workflow_deadline_epoch_ms is None


def test_the_deadline_survives_a_restart(url: str) -> None:
    with SetWorkflowID("timed"), SetWorkflowTimeout(1.0):
        DBOS.start_workflow(sleeper, 60)
    wait_until(sleeping("timed"))
    deadline = DBOS.retrieve_workflow("timed").get_status().workflow_deadline_epoch_ms
    DBOS.destroy(destroy_registry=False)  # the workflow stays PENDING, as after a crash
    launch(url)  # recovery runs it again, with the deadline from its row
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        DBOS.retrieve_workflow("timed").get_result(polling_interval_sec=0.01)
    status = DBOS.retrieve_workflow("timed").get_status()
    assert status.status == "CANCELLED"
    assert status.workflow_deadline_epoch_ms == deadline
    assert status.updated_at is not None and deadline is not None
    assert status.updated_at >= deadline
    assert calls == Counter({"before": 1})  # replayed after the restart, not re-run


def test_resume_restarts_the_timeout_from_now(url: str) -> None:
    with SetWorkflowTimeout(0.2):
        handle = DBOS.start_workflow(sleeper, 60)
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result()
    first = handle.get_status().workflow_deadline_epoch_ms
    resumed = DBOS.resume_workflow(handle.workflow_id)
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        resumed.get_result(polling_interval_sec=0.01)
    second = resumed.get_status().workflow_deadline_epoch_ms
    assert first is not None and second is not None and second > first


def test_an_earlier_deadline_wakes_the_sleeping_watchdog(system_database_url: str) -> None:
    # The watchdog is woken only by a start whose deadline comes before the time it
    # sleeps towards; with a 30 s poll, nothing else would wake it in time.
    DBOS.destroy(destroy_registry=False)
    config: DBOSConfig = {
        "name": NAME,
        "system_database_url": system_database_url,
        "notification_listener_polling_interval_sec": 30,
    }
    with launched(config):
        with SetWorkflowTimeout(60):
            late = DBOS.start_workflow(sleeper, 60)
        wait_until(sleeping(late.workflow_id))
        untimed = DBOS.start_workflow(sleeper, 60)  # no deadline: no need to wake it
        wait_until(sleeping(untimed.workflow_id))
        started = time.monotonic()
        with SetWorkflowTimeout(0.3):
            early = DBOS.start_workflow(sleeper, 60)
        with pytest.raises(DBOSAwaitedWorkflowCancelledError):
            early.get_result(polling_interval_sec=0.01)
        assert time.monotonic() - started < 10
        assert late.get_status().status == "PENDING"
        DBOS.cancel_workflow(late.workflow_id)
        DBOS.cancel_workflow(untimed.workflow_id)


def test_timeouts_with_a_fake_clock_take_no_real_time(system_database_url: str) -> None:
    DBOS.destroy(destroy_registry=False)
    clock = FakeClock()
    config: DBOSConfig = {"name": NAME, "system_database_url": system_database_url}
    with launched(config, clock=clock):
        started = time.monotonic()
        with SetWorkflowTimeout(3600):
            handle: WorkflowHandle[str] = DBOS.start_workflow(sleeper, 7200)
        with pytest.raises(DBOSAwaitedWorkflowCancelledError):
            handle.get_result(polling_interval_sec=0.01)
        assert time.monotonic() - started < 10
        status = handle.get_status()
        assert status.status == "CANCELLED"
        # The deadline is an hour of fake time after the start (background waits may
        # have moved the fake clock on before it).
        assert status.created_at is not None
        assert status.workflow_deadline_epoch_ms == status.created_at + 3_600_000


# --- what the watchdog notices without being told -----------------------------------------


def test_an_outside_cancel_is_noticed_during_a_sleep(url: str) -> None:
    # Cancel through the store only, as another process would: no in-process interrupt.
    handle = DBOS.start_workflow(sleeper, 60)
    wait_until(sleeping(handle.workflow_id))
    runtime().store.cancel_workflows([handle.workflow_id], int(time.time() * 1000))
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result()
    assert calls["after"] == 0


def sleepers_in_chunks(monkeypatch: pytest.MonkeyPatch) -> list[WorkflowHandle[str]]:
    """Five workflows in a durable sleep, which the watchdog polls two at a time (a
    statement takes at most 65,535 parameters, so it polls in chunks)."""
    monkeypatch.setattr(watchdog_module, "POLL_CHUNK", 2)
    handles = [DBOS.start_workflow(sleeper, 60) for _ in range(5)]
    for handle in handles:
        wait_until(sleeping(handle.workflow_id))
    return handles


def release(handles: list[WorkflowHandle[str]]) -> None:
    """The others were left alone: still PENDING, then cancelled to end the test."""
    for handle in handles:
        assert status_of(handle.workflow_id) == "PENDING"
        DBOS.cancel_workflow(handle.workflow_id)


def test_an_outside_cancel_is_noticed_among_many_watched_chunks(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One cancelled in the last chunk is noticed like one in the first.
    handles = sleepers_in_chunks(monkeypatch)
    last = handles[-1]
    runtime().store.cancel_workflows([last.workflow_id], int(time.time() * 1000))
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        last.get_result()
    release(handles[:-1])


def test_an_outside_delete_is_noticed_among_many_watched_chunks(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deletion sends no notification: the watchdog's poll finds the row gone. Each
    # chunk is counted first and read row by row only when a row is missing, so the one
    # deleted in the middle chunk is the only execution stopped.
    handles = sleepers_in_chunks(monkeypatch)
    deleted = handles[2].workflow_id
    runtime().store.delete_workflows([deleted])
    execution = next(s for s in runtime().watchdog._states if s.workflow_id == deleted)
    wait_until(execution.cancelled.is_set, timeout=15)
    assert calls["after"] == 0
    release(handles[:2] + handles[3:])


def test_concurrent_cancel_and_finish_agree(url: str) -> None:
    handles = [DBOS.start_workflow(three, f"c{i}-") for i in range(10)]
    for handle in handles:
        DBOS.cancel_workflow(handle.workflow_id)
    for handle in handles:
        try:
            handle.get_result()
            assert status_of(handle.workflow_id) == "SUCCESS"
        except DBOSAwaitedWorkflowCancelledError:
            assert status_of(handle.workflow_id) == "CANCELLED"


# --- the example -----------------------------------------------------------------------


@pytest.mark.slow
def test_the_operations_example_runs_as_documented(system_database_url: str) -> None:
    if system_database_url.startswith("memory://"):
        pytest.skip("the example runs in its own process")
    DBOS.destroy(destroy_registry=False)
    example = pathlib.Path(__file__).parents[1] / "examples" / "operations.py"
    done = subprocess.run(
        [sys.executable, str(example), system_database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    part = {n: out.split(f"{n}. ")[1].split(f"\n{n + 1}. ")[0] for n in range(1, 5)}
    assert "running step 3" not in part[1] and "status right after cancel: CANCELLED" in part[1]
    assert "running step 1" not in part[2] and "running step 3" in part[2]
    assert part[3].count("running step") == 1 and "forked from: order-1" in part[3]
    assert "reminder-1 is CANCELLED" in part[4]
    assert "after delete: ['deleted', 'deleted', 'deleted']" in out


@pytest.mark.slow
def test_the_snippets_of_the_operations_page_run(tmp_path: pathlib.Path) -> None:
    page = (pathlib.Path(__file__).parents[1] / "docs" / "operations.md").read_text()
    blocks = [b.split("```", 1)[0] for b in page.split("```python\n")[1:]]
    program = tmp_path / "operations_page.py"
    program.write_text("\n".join(blocks))
    done = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "start_step must be at least 1" in done.stdout
    assert "Non-existent target workflow ID" in done.stdout
