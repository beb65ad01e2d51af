"""``fx.start`` and ``fx.call`` honour the start options as ``DBOS.start_workflow`` does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from transact import DBOS, SetWorkflowID, SetWorkflowTimeout, fx


@DBOS.workflow()
def routed_child(value: int) -> int:
    return value * 2


@DBOS.workflow()
def routed_parent(value: int) -> fx.Program[tuple[str, int, int]]:
    with SetWorkflowID("routed-started"), SetWorkflowTimeout(30):
        handle = yield from fx.start(routed_child, value)
    started = yield from fx.get_result(handle)
    with SetWorkflowID("routed-called"):
        called = yield from fx.call(routed_child, value + 1)
    return handle.workflow_id, started, called


@pytest.fixture
def dbos(system_database_url: str) -> Iterator[type[DBOS]]:
    DBOS.destroy()
    DBOS(config={"name": "test-app", "system_database_url": system_database_url})
    DBOS.launch()
    yield DBOS
    DBOS.destroy()


def test_fx_start_and_call_honour_set_workflow_id_and_timeout(dbos: type[DBOS]) -> None:
    handle = DBOS.start_workflow(routed_parent, 5)
    assert handle.get_result() == ("routed-started", 10, 12)
    started = DBOS.get_workflow_status("routed-started")
    assert started is not None and started.workflow_timeout_ms == 30_000
    called = DBOS.get_workflow_status("routed-called")
    assert called is not None and called.output == 12
    assert started.parent_workflow_id == handle.workflow_id
