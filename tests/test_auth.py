"""``DBOSContextSetAuth``: who a workflow runs for, stored, inherited and recovered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from transact import DBOS, DBOSContextSetAuth, SetWorkflowID


@DBOS.workflow()
def whoami() -> tuple[str | None, list[str] | None]:
    return DBOS.authenticated_user, DBOS.authenticated_roles


@DBOS.workflow()
def parent_asks_child() -> tuple[str | None, list[str] | None]:
    return whoami()


@pytest.fixture
def dbos(system_database_url: str) -> Iterator[str]:
    DBOS.destroy()
    DBOS(config={"name": "test-auth", "system_database_url": system_database_url})
    DBOS.launch()
    yield system_database_url
    DBOS.destroy()


def test_auth_is_stored_inherited_and_visible(dbos: str) -> None:
    assert (DBOS.authenticated_user, DBOS.authenticated_roles) == (None, None)
    with DBOSContextSetAuth("alice", ["admin", "ops"]):
        assert (DBOS.authenticated_user, DBOS.authenticated_roles) == ("alice", ["admin", "ops"])
        with SetWorkflowID("auth-1"):
            assert parent_asks_child() == ("alice", ["admin", "ops"])
    status = DBOS.get_workflow_status("auth-1")
    assert status is not None
    assert (status.authenticated_user, status.authenticated_roles) == ("alice", ["admin", "ops"])
    child = DBOS.get_workflow_status("auth-1-1")
    assert child is not None and child.authenticated_user == "alice"
    assert whoami() == (None, None)
    assert [w.workflow_id for w in DBOS.list_workflows(user="alice")] == ["auth-1", "auth-1-1"]


def test_auth_is_restored_on_recovery(dbos: str) -> None:
    from transact._facade.launched import runtime
    from transact._runtime.runtime import StartOptions

    rt = runtime()
    options = StartOptions(
        workflow_id="auth-2", authenticated_user="bob", authenticated_roles=("r",)
    )
    rt.store.insert_workflow(
        rt.new_record(rt.spec("whoami", "auth-2"), "auth-2", (), {}, options=options)
    )
    DBOS.destroy()
    DBOS(config={"name": "test-auth", "system_database_url": dbos})
    DBOS.launch()
    assert DBOS.retrieve_workflow("auth-2").get_result(polling_interval_sec=0.01) == ("bob", ["r"])
