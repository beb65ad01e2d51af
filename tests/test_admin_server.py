"""DBOS's admin HTTP server over real HTTP, on every store."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from tests.waiting import status_of, wait_until
from transact import DBOS, Queue, SetWorkflowID
from transact._facade import launched, lifecycle
from transact._runtime.registry import spec_of
from transact.maintenance import garbage_collect, global_timeout

gates: dict[str, threading.Event] = {}


@DBOS.step()
def double(x: int) -> int:
    return 2 * x


@DBOS.workflow()
def admin_doubled(x: int) -> int:
    return double(x) + double(x)


@DBOS.workflow()
def admin_blocked(tag: str) -> str:
    DBOS.sleep(0.001)
    while not gates[tag].wait(0.01):
        pass
    double(1)
    return tag


admin_queue = Queue("admin-test-queue", concurrency=1)


class Admin:
    """A small HTTP client of the launched admin server."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _decode(response.read(), response.headers)
        except urllib.error.HTTPError as err:
            return err.code, _decode(err.read(), err.headers)

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("GET", path)

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return self.call("POST", path, body if body is not None else {})


def _decode(raw: bytes, headers: Any) -> Any:
    if not raw:
        return None
    if headers.get("Content-Type", "").startswith("application/json"):
        return json.loads(raw)
    return raw.decode()


@pytest.fixture
def admin(system_database_url: str) -> Iterator[Admin]:
    DBOS(
        config={
            "name": "admin-test",
            "system_database_url": system_database_url,
            "run_admin_server": True,
            "admin_port": 0,  # any free port; the test reads the bound one
        }
    )
    DBOS.launch()
    server = lifecycle.configured().admin
    assert server is not None
    try:
        yield Admin(server.port)
    finally:
        for gate in gates.values():
            gate.set()
        DBOS.destroy()


def test_health_deactivate_and_queue_metadata(admin: Admin) -> None:
    assert admin.get("/dbos-healthz") == (200, "healthy")
    assert admin.get("/conductor") == (200, {"status": True})
    code, queues = admin.get("/dbos-workflow-queues-metadata")
    assert code == 200
    assert {"name": "admin-test-queue", "concurrency": 1} in queues
    DBOS.register_queue("admin-stored-queue", worker_concurrency=2)  # kept in the database
    _, queues = admin.get("/dbos-workflow-queues-metadata")
    assert {"name": "admin-stored-queue", "workerConcurrency": 2} in queues
    assert admin.get("/deactivate") == (200, "deactivated")
    assert admin.get("/no-such-route")[0] == 404


def test_get_a_workflow_and_its_steps(admin: Admin) -> None:
    with SetWorkflowID("admin-wf-1"):
        assert admin_doubled(5) == 20
    code, body = admin.get("/workflows/admin-wf-1")
    assert code == 200
    assert body["WorkflowUUID"] == "admin-wf-1"
    assert body["Status"] == "SUCCESS"
    assert body["WorkflowName"] == spec_of(admin_doubled).name  # type: ignore[union-attr]
    assert body["Output"] == "20"
    assert all(v is None or isinstance(v, str) for v in body.values())
    code, steps = admin.get("/workflows/admin-wf-1/steps")
    assert code == 200
    assert [(s["function_id"], s["output"]) for s in steps] == [(1, "10"), (2, "10")]
    assert admin.get("/workflows/no-such-workflow")[0] == 404


def test_list_workflows_and_queued_workflows_with_filters(admin: Admin) -> None:
    for n in range(3):
        with SetWorkflowID(f"admin-list-{n}"):
            admin_doubled(n)
    name = spec_of(admin_doubled).name  # type: ignore[union-attr]
    code, rows = admin.post("/workflows", {"workflow_name": name, "limit": 2, "sort_desc": True})
    assert code == 200
    assert [r["WorkflowUUID"] for r in rows] == ["admin-list-2", "admin-list-1"]
    assert rows[0]["Input"] is None  # load_input defaults to false here
    gates["queued"] = threading.Event()
    handles = [admin_queue.enqueue(admin_blocked, "queued") for _ in range(2)]
    ids = {h.workflow_id for h in handles}
    # Both may be enqueued within one clock tick, so either can be the one that runs.
    wait_until(lambda: "PENDING" in {status_of(i) for i in ids})
    code, queued = admin.post("/queues", {"queue_name": "admin-test-queue"})
    assert code == 200
    assert {r["WorkflowUUID"] for r in queued} == ids
    assert sorted(r["Status"] for r in queued) == ["ENQUEUED", "PENDING"]
    assert admin.post("/workflows", {"no_such_filter": 1})[0] == 500
    gates["queued"].set()
    assert [h.get_result() for h in handles] == ["queued", "queued"]


def test_cancel_resume_restart_and_fork(admin: Admin) -> None:
    gates["cancel"] = threading.Event()
    handle = DBOS.start_workflow(admin_blocked, "cancel")
    wait_until(lambda: len(DBOS.list_workflow_steps(handle.workflow_id)) == 1)
    assert admin.post(f"/workflows/{handle.workflow_id}/cancel") == (204, None)
    assert status_of(handle.workflow_id) == "CANCELLED"
    gates["cancel"].set()
    assert admin.post(f"/workflows/{handle.workflow_id}/resume") == (204, None)
    assert DBOS.retrieve_workflow(handle.workflow_id).get_result() == "cancel"

    with SetWorkflowID("admin-original"):
        admin_doubled(3)
    code, restarted = admin.post("/workflows/admin-original/restart")
    assert code == 200 and restarted["workflow_id"] != "admin-original"
    assert DBOS.retrieve_workflow(restarted["workflow_id"]).get_result() == 12
    code, forked = admin.post(
        "/workflows/admin-original/fork", {"start_step": 2, "new_workflow_id": "admin-fork"}
    )
    assert (code, forked) == (200, {"workflow_id": "admin-fork"})
    assert DBOS.retrieve_workflow("admin-fork").get_result() == 12
    code, failed = admin.post("/workflows/no-such-workflow/fork", {"start_step": 1})
    assert code == 500 and "no-such-workflow" in failed["error"]


def test_recovery_of_another_executor(admin: Admin) -> None:
    rt = launched.runtime()
    spec = spec_of(admin_doubled)
    assert spec is not None
    record = rt.new_record(spec, "admin-orphan", (4,), {})
    rt.store.insert_workflow(attrs.evolve(record, executor_id="dead-executor"))
    code, recovered = admin.post("/dbos-workflow-recovery", ["dead-executor"])
    assert (code, recovered) == (200, ["admin-orphan"])
    assert DBOS.retrieve_workflow("admin-orphan").get_result() == 16
    assert admin.post("/dbos-workflow-recovery", ["dead-executor"]) == (200, [])


def test_garbage_collect_keeps_the_newest_and_every_active_workflow(admin: Admin) -> None:
    for n in range(4):
        with SetWorkflowID(f"admin-gc-{n}"):
            admin_doubled(n)
        time.sleep(0.002)  # distinct created_at
    gates["gc"] = threading.Event()
    active = DBOS.start_workflow(admin_blocked, "gc")
    time.sleep(0.002)
    with SetWorkflowID("admin-gc-newest"):
        admin_doubled(9)
    assert admin.post("/dbos-garbage-collect", {"rows_threshold": 2}) == (204, None)
    remaining = {s.workflow_id for s in DBOS.list_workflows()}
    assert remaining == {active.workflow_id, "admin-gc-newest"}
    assert DBOS.list_workflow_steps("admin-gc-0") == []
    gates["gc"].set()
    assert active.get_result() == "gc"


def test_global_timeout_cancels_active_workflows_created_before_the_cutoff(admin: Admin) -> None:
    gates["timeout"] = threading.Event()
    old = DBOS.start_workflow(admin_blocked, "timeout")
    with SetWorkflowID("admin-finished"):
        admin_doubled(1)
    cutoff = int(time.time() * 1000)
    assert admin.post("/dbos-global-timeout", {"cutoff_epoch_timestamp_ms": cutoff}) == (204, None)
    assert status_of(old.workflow_id) == "CANCELLED"
    assert status_of("admin-finished") == "SUCCESS"


def test_the_library_calls_work_in_batches_and_refuse_bad_arguments(admin: Admin) -> None:
    for n in range(5):
        with SetWorkflowID(f"admin-batch-{n}"):
            admin_doubled(n)
    cutoff = int(time.time() * 1000) + 1
    with pytest.raises(ValueError, match="rows_threshold"):
        garbage_collect(rows_threshold=0)
    with pytest.raises(ValueError, match="batch_size"):
        garbage_collect(cutoff, batch_size=0)
    assert len(DBOS.list_workflows()) == 5  # nothing deleted by the refused calls
    assert garbage_collect(cutoff, batch_size=2) == 5
    assert DBOS.list_workflows() == []
    gates["library"] = threading.Event()
    handle = DBOS.start_workflow(admin_blocked, "library")
    assert global_timeout(int(time.time() * 1000)) == [handle.workflow_id]
    assert status_of(handle.workflow_id) == "CANCELLED"
