"""Behaviour of workflows and steps through the public API, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import workflows_app as app
from transact import (
    DBOS,
    DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded,
    DBOSConflictingWorkflowError,
    DBOSException,
    DBOSMaxStepRetriesExceeded,
    DBOSNonExistentWorkflowError,
    SetWorkflowID,
    WorkflowStatusString,
)
from transact.errors import SerializationError


@pytest.fixture
def dbos(system_database_url: str) -> Iterator[type[DBOS]]:
    app.reset()
    DBOS.destroy()
    DBOS(config={"name": "test-app", "system_database_url": system_database_url})
    DBOS.launch()
    yield DBOS
    DBOS.destroy()


def relaunch(url: str) -> None:
    DBOS.destroy()
    DBOS(config={"name": "test-app", "system_database_url": url})
    DBOS.launch()


def test_steps_run_once_and_are_recorded(dbos: type[DBOS]) -> None:
    handle = DBOS.start_workflow(app.two_steps, 1)
    assert handle.get_result() == 12
    assert app.calls["add"] == 2
    steps = DBOS.list_workflow_steps(handle.workflow_id)
    assert [(s["function_id"], s["function_name"], s["output"]) for s in steps] == [
        (1, "add", 2),
        (2, "add", 12),
    ]
    status = handle.get_status()
    assert status.status == "SUCCESS" and status.output == 12 and status.name == "two_steps"
    assert status.input == {"args": (1,), "kwargs": {}}


def test_direct_call_returns_the_result(dbos: type[DBOS]) -> None:
    assert app.two_steps(5) == 16


def test_same_workflow_id_returns_recorded_outcome_without_rerunning(dbos: type[DBOS]) -> None:
    with SetWorkflowID("order-1"):
        assert app.two_steps(1) == 12
    with SetWorkflowID("order-1"):
        assert app.two_steps(1) == 12
    with SetWorkflowID("order-1"):
        assert DBOS.start_workflow(app.two_steps, 1).get_result() == 12
    assert app.calls["add"] == 2
    assert len(DBOS.list_workflows(workflow_ids=["order-1"])) == 1


def test_set_workflow_id_applies_to_the_next_workflow_only(dbos: type[DBOS]) -> None:
    with SetWorkflowID("only-first"):
        first = DBOS.start_workflow(app.two_steps, 1)
        second = DBOS.start_workflow(app.two_steps, 2)
    assert first.workflow_id == "only-first"
    assert second.workflow_id != "only-first"
    assert second.get_result() == 13


def test_reusing_an_id_for_another_workflow_is_a_conflict(dbos: type[DBOS]) -> None:
    with SetWorkflowID("shared"):
        app.two_steps(1)
    with pytest.raises(DBOSConflictingWorkflowError), SetWorkflowID("shared"):
        app.sleeper(0)


def test_workflow_error_is_recorded_and_reraised(dbos: type[DBOS]) -> None:
    handle = DBOS.start_workflow(app.failing, "bad input")
    with pytest.raises(ValueError, match="bad input"):
        handle.get_result()
    status = DBOS.get_workflow_status(handle.workflow_id)
    assert status is not None and status.status == "ERROR"
    assert isinstance(status.error, ValueError)
    # A fresh handle reads the error from the store.
    with pytest.raises(ValueError, match="bad input"):
        DBOS.retrieve_workflow(handle.workflow_id).get_result()
    steps = DBOS.list_workflow_steps(handle.workflow_id)
    assert isinstance(steps[0]["error"], ValueError)


def test_workflow_may_catch_a_step_error(dbos: type[DBOS]) -> None:
    assert app.catches("boom") == "caught boom"


def test_step_retries_then_succeeds(dbos: type[DBOS]) -> None:
    assert app.retrying(3) == 3
    assert app.calls["flaky"] == 3


def test_step_retries_exhausted(dbos: type[DBOS]) -> None:
    with pytest.raises(DBOSMaxStepRetriesExceeded) as info:
        app.retrying(10)
    assert app.calls["flaky"] == 3
    assert len(info.value.errors) == 3
    assert all(isinstance(e, ConnectionError) for e in info.value.errors)


def test_sleep_is_recorded(dbos: type[DBOS]) -> None:
    handle = DBOS.start_workflow(app.sleeper, 0.01)
    assert handle.get_result() == "awake"
    [step] = DBOS.list_workflow_steps(handle.workflow_id)
    assert step["function_name"] == "DBOS.sleep"
    assert isinstance(step["output"], float)


def test_context_properties(dbos: type[DBOS]) -> None:
    with SetWorkflowID("probe"):
        result = app.context_probe()
    assert result == {"workflow_id": "probe", "step_id": None, "inside_step": ("probe", 1)}
    assert DBOS.workflow_id is None and DBOS.step_id is None
    assert DBOS.executor_id == "local"
    assert isinstance(DBOS.application_version, str) and DBOS.application_version
    assert DBOS.logger.name == "dbos"


def test_run_step(dbos: type[DBOS]) -> None:
    handle = DBOS.start_workflow(app.run_step_workflow)
    assert handle.get_result() == 42
    assert [s["output"] for s in DBOS.list_workflow_steps(handle.workflow_id)] == [42]
    assert DBOS.run_step(None, lambda: 7) == 7  # outside a workflow: a plain call


def test_children_get_deterministic_ids_and_parents(dbos: type[DBOS]) -> None:
    with SetWorkflowID("parent"):
        assert app.parent_of_two(1) == 12 + 13
    steps = DBOS.list_workflow_steps("parent")
    assert [(s["function_id"], s["function_name"], s["child_workflow_id"]) for s in steps] == [
        (1, "two_steps", "parent-1"),
        (2, "two_steps", "parent-2"),
        (3, "DBOS.getResult", "parent-2"),
        (4, "DBOS.getResult", "parent-1"),
    ]
    children = DBOS.list_workflows(parent_workflow_id="parent")
    assert sorted(c.workflow_id for c in children) == ["parent-1", "parent-2"]


def test_fx_workflow(dbos: type[DBOS]) -> None:
    handle = DBOS.start_workflow(app.fx_workflow, 1)
    assert handle.get_result() == 3 + 11 + 11
    names = [s["function_name"] for s in DBOS.list_workflow_steps(handle.workflow_id)]
    assert names == [
        "add",
        "DBOS.sleep",
        "two_steps",
        "DBOS.getResult",
        "two_steps",
        "DBOS.getResult",
    ]
    assert app.fx_catches() == "caught boom"


def test_wait_first(dbos: type[DBOS]) -> None:
    slow = DBOS.start_workflow(app.gated)
    fast = DBOS.start_workflow(app.two_steps, 1)
    assert DBOS.wait_first([slow, fast], polling_interval_sec=0.01) is fast
    app.gate.set()
    assert slow.get_result() == "opened"
    with pytest.raises(ValueError):
        DBOS.wait_first([])
    with pytest.raises(ValueError):
        DBOS.wait_first([fast, fast])


def test_get_result_by_id(dbos: type[DBOS]) -> None:
    handle = DBOS.start_workflow(app.two_steps, 2)
    assert DBOS.get_result(handle.workflow_id) == 13


def test_retrieve_and_status_of_unknown_workflow(dbos: type[DBOS]) -> None:
    assert DBOS.get_workflow_status("nope") is None
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.retrieve_workflow("nope")
    handle = DBOS.retrieve_workflow("nope", existing_workflow=False)
    with pytest.raises(DBOSNonExistentWorkflowError):
        handle.get_status()


def _ids(statuses: list[Any]) -> list[str]:
    return [s.workflow_id for s in statuses]


def test_list_workflows_filters_order_and_paging(dbos: type[DBOS]) -> None:
    for i in range(5):
        with SetWorkflowID(f"wf-{i}"):
            app.two_steps(i)
    with SetWorkflowID("bad-0"):
        DBOS.start_workflow(app.failing, "x")
    with pytest.raises(ValueError):
        DBOS.get_result("bad-0")
    assert _ids(DBOS.list_workflows(name="two_steps")) == [f"wf-{i}" for i in range(5)]
    assert _ids(DBOS.list_workflows(name="two_steps", sort_desc=True, limit=2)) == ["wf-4", "wf-3"]
    assert _ids(DBOS.list_workflows(name="two_steps", limit=2, offset=1)) == ["wf-1", "wf-2"]
    assert _ids(DBOS.list_workflows(status="ERROR")) == ["bad-0"]
    assert _ids(DBOS.list_workflows(status=["ERROR", "SUCCESS"], workflow_id_prefix="bad")) == [
        "bad-0"
    ]
    assert _ids(DBOS.list_workflows(workflow_ids=["wf-3", "wf-1"])) == ["wf-1", "wf-3"]
    assert _ids(DBOS.list_workflows(name=["failing"], app_version=DBOS.application_version)) == [
        "bad-0"
    ]
    assert DBOS.list_workflows(app_version="other-version") == []
    assert len(DBOS.list_workflows(executor_id="local")) == 6
    assert DBOS.list_workflows(start_time="2999-01-01T00:00:00") == []
    assert len(DBOS.list_workflows(end_time="2999-01-01T00:00:00Z")) == 6
    light = DBOS.list_workflows(workflow_ids=["wf-2"], load_input=False, load_output=False)[0]
    assert light.input is None and light.output is None
    full = DBOS.list_workflows(workflow_ids=["wf-2"])[0]
    assert full.output == 13 and full.status == WorkflowStatusString.SUCCESS
    with pytest.raises(ValueError):
        DBOS.list_workflows(limit=-1)
    with pytest.raises(ValueError):
        DBOS.list_workflows(start_time="yesterday")


def test_management_calls_inside_a_workflow_are_recorded(dbos: type[DBOS]) -> None:
    @DBOS.workflow(name="lister")
    def lister() -> int:
        return len(DBOS.list_workflows(name="two_steps"))

    app.two_steps(1)
    with SetWorkflowID("lister-1"):
        assert lister() == 1
    assert [s["function_name"] for s in DBOS.list_workflow_steps("lister-1")] == [
        "DBOS.listWorkflows"
    ]


# --- bad input ----------------------------------------------------------------------


def test_start_of_a_plain_function_is_refused_before_writing(dbos: type[DBOS]) -> None:
    with pytest.raises(
        DBOSException,
        match="<NONE>: plain_function is not a registered workflow function",
    ):
        DBOS.start_workflow(app.plain_function, 1)
    assert DBOS.list_workflows() == []


def test_unserializable_argument_writes_nothing(dbos: type[DBOS]) -> None:
    import threading

    with pytest.raises(SerializationError, match="arguments of workflow two_steps"):
        DBOS.start_workflow(app.two_steps, threading.Lock())  # type: ignore[call-overload]
    assert DBOS.list_workflows() == []


def test_unserializable_result_ends_in_error(dbos: type[DBOS]) -> None:
    with SetWorkflowID("lock"), pytest.raises(SerializationError):
        app.returns_lock()
    status = DBOS.get_workflow_status("lock")
    assert status is not None and status.status == "ERROR"
    assert "cannot serialize" in str(status.error)


def test_sleep_outside_a_workflow(dbos: type[DBOS]) -> None:
    with pytest.raises(DBOSException, match=r"^DBOS Error: sleep\(\) must be called from"):
        DBOS.sleep(1)
    DBOS.sleep(0)  # nothing to wait: no error, as in DBOS


def test_bad_step_options() -> None:
    with pytest.raises(ValueError):
        DBOS.step(max_attempts=0)
    with pytest.raises(ValueError):
        DBOS.step(interval_seconds=-1)


def test_before_launch_is_a_clear_error() -> None:
    DBOS.destroy()
    with pytest.raises(
        DBOSException, match=r"^DBOS Error: Function two_steps invoked before DBOS initialized$"
    ):
        app.two_steps(1)


# --- recovery -----------------------------------------------------------------------


def test_recovery_resumes_pending_workflow_from_its_log(
    system_database_url: str, dbos: type[DBOS]
) -> None:
    # Simulate a crash: a PENDING row with step 1 recorded, nobody running it.
    from transact._core.checkpoint import Checkpoint
    from transact._facade.launched import runtime

    rt = runtime()
    spec = rt.spec("two_steps", "crashed")
    record = rt.new_record(spec, "crashed", (1,), {})
    rt.store.insert_workflow(record)
    rt.store.record_checkpoint("crashed", Checkpoint(1, "add", output=rt.serializer.serialize(2)))
    relaunch(system_database_url)
    assert DBOS.retrieve_workflow("crashed").get_result(polling_interval_sec=0.01) == 12
    assert app.calls["add"] == 1  # only the second step ran
    status = DBOS.get_workflow_status("crashed")
    assert status is not None and status.recovery_attempts == 2


def test_recovery_limit_dead_letters(system_database_url: str, dbos: type[DBOS]) -> None:
    from transact._facade.launched import runtime

    rt = runtime()
    record = rt.new_record(rt.spec("fragile", "frail"), "frail", (), {})
    rt.store.insert_workflow(record)
    relaunch(system_database_url)  # attempt 2: allowed (limit 1 means one recovery)
    assert DBOS.get_result("frail") == "done"
    rt = runtime()
    rt.store.insert_workflow(rt.new_record(rt.spec("fragile", "frail-2"), "frail-2", (), {}))
    rt.store.begin_recovery("frail-2", "local", 0)  # a recovery that crashed again
    relaunch(system_database_url)
    status = DBOS.get_workflow_status("frail-2")
    assert status is not None and status.status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
    with pytest.raises(DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded):
        DBOS.get_result("frail-2")


def test_unknown_workflow_name_at_recovery_stays_pending(
    system_database_url: str, dbos: type[DBOS]
) -> None:
    from transact._facade.launched import runtime
    from transact._store.records import WorkflowRecord

    rt = runtime()
    rt.store.insert_workflow(
        WorkflowRecord(
            workflow_id="ghost",
            status="PENDING",
            name="no_such_workflow",
            inputs=rt.serializer.serialize({"args": (), "kwargs": {}}),
            executor_id="local",
            application_version=rt.application_version,
            recovery_attempts=1,
        )
    )
    relaunch(system_database_url)  # logs an error, does not crash the launch
    status = DBOS.get_workflow_status("ghost")
    assert status is not None and status.status == "PENDING"


def test_nondeterminism_is_detected(system_database_url: str, dbos: type[DBOS]) -> None:
    from transact._core.checkpoint import Checkpoint
    from transact._facade.launched import runtime
    from transact.errors import NondeterminismError

    rt = runtime()
    rt.store.insert_workflow(rt.new_record(rt.spec("two_steps", "changed"), "changed", (1,), {}))
    rt.store.record_checkpoint(
        "changed", Checkpoint(1, "charge_card", output=rt.serializer.serialize(1))
    )
    relaunch(system_database_url)
    with pytest.raises(NondeterminismError) as info:
        DBOS.get_result("changed")
    message = str(info.value)
    assert "changed" in message and "step 1" in message
    assert "function charge_card was recorded when add was expected" in message
