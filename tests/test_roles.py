"""Required roles: checked at start, enqueue, child start and recovery (where a denial
marks the workflow ERROR), for workflows, steps and class defaults."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest

from transact import (
    DBOS,
    DBOSContextSetAuth,
    DBOSNotAuthorizedError,
    Queue,
    SetWorkflowID,
)
from transact._facade.launched import runtime
from transact._runtime.runtime import StartOptions

queue = Queue("roles-queue")


@DBOS.required_roles(["admin", "ops"])
@DBOS.workflow()
def guarded() -> str | None:
    return DBOS.assumed_role


@DBOS.workflow()
def open_door() -> str | None:
    return guarded()


@DBOS.step()
@DBOS.required_roles(["auditor"])
def audited() -> int:
    return 1


@DBOS.workflow()
def calls_audited() -> int:
    return audited()


@DBOS.default_required_roles(["member"])
class Club:
    @staticmethod
    @DBOS.workflow()
    def enter() -> str | None:
        return DBOS.assumed_role

    @staticmethod
    @DBOS.required_roles(["guest"])
    @DBOS.workflow()
    def visit() -> str | None:
        return DBOS.assumed_role


@pytest.fixture
def url(system_database_url: str) -> Iterator[str]:
    DBOS.destroy()
    DBOS(config={"name": "test-roles", "system_database_url": system_database_url})
    DBOS.launch()
    yield system_database_url
    DBOS.destroy()


def test_no_authentication_is_refused(url: str) -> None:
    with pytest.raises(DBOSNotAuthorizedError) as info:
        guarded()
    assert str(info.value) == (
        "DBOS Error 8: Function guarded requires a role, but was called in a context "
        "without authentication information"
    )
    assert info.value.status_code == 403
    with pytest.raises(DBOSNotAuthorizedError):
        DBOS.start_workflow(guarded)
    with pytest.raises(DBOSNotAuthorizedError):
        queue.enqueue(guarded)


def test_wrong_roles_are_refused_and_the_first_held_role_is_assumed(url: str) -> None:
    with DBOSContextSetAuth("eve", ["guest"]), pytest.raises(DBOSNotAuthorizedError) as info:
        DBOS.start_workflow(guarded)
    assert str(info.value) == (
        "DBOS Error 8: Function guarded has required roles, but user is not "
        "authenticated for any of them"
    )
    with DBOSContextSetAuth("ann", ["ops", "admin"]), SetWorkflowID("roles-1"):
        assert guarded() == "admin"
    status = DBOS.get_workflow_status("roles-1")
    assert status is not None and status.assumed_role == "admin"
    with DBOSContextSetAuth("ann", ["ops"]):
        assert queue.enqueue(guarded).get_result(polling_interval_sec=0.01) == "ops"
        assert open_door() == "ops"  # a child is checked with its parent's roles


def test_set_authentication_and_steps(url: str) -> None:
    with pytest.raises(DBOSNotAuthorizedError):
        calls_audited()
    DBOS.set_authentication("al", ["auditor"])
    try:
        assert DBOS.authenticated_user == "al"
        assert calls_audited() == 1
        assert audited() == 1  # outside a workflow a step is a plain call
    finally:
        DBOS.set_authentication(None, None)


def test_class_default_roles_and_method_override(url: str) -> None:
    with DBOSContextSetAuth("m", ["member"]):
        assert Club.enter() == "member"
        with pytest.raises(DBOSNotAuthorizedError):
            Club.visit()
    with DBOSContextSetAuth("g", ["guest"]):
        assert Club.visit() == "guest"


def test_recovery_of_a_denied_workflow_marks_it_error(url: str) -> None:
    rt = runtime()
    options = StartOptions(
        workflow_id="roles-rec", authenticated_user="x", authenticated_roles=("admin",)
    )
    record = rt.new_record(rt.spec("guarded", "roles-rec"), "roles-rec", (), {}, options=options)
    # Stored with roles that no longer qualify (as if edited, or the roles changed).
    rt.store.insert_workflow(attrs.evolve(record, authenticated_roles='["nobody"]'))
    DBOS.destroy()
    DBOS(config={"name": "test-roles", "system_database_url": url})
    DBOS.launch()
    with pytest.raises(DBOSNotAuthorizedError):
        DBOS.retrieve_workflow("roles-rec").get_result(polling_interval_sec=0.01)
    status = DBOS.get_workflow_status("roles-rec")
    assert status is not None and status.status == "ERROR"
