"""DBOS Conductor's protocol against a stand-in Conductor: a websocket server in the test
that sends each request type and checks the answer and its effect, on every store."""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import attrs
import pytest
from websockets.sync.server import Server, ServerConnection, serve

from tests.waiting import status_of, wait_until
from transact import DBOS, DBOSException, Queue, SetWorkflowID
from transact._facade import launched
from transact._facade.alerts import forget_alert_handler
from transact._runtime.registry import spec_of

gates: dict[str, threading.Event] = {}


@DBOS.step()
def conductor_step(x: int) -> int:
    return x + 1


@DBOS.workflow()
def conductor_add(x: int) -> int:
    return conductor_step(x) + conductor_step(x)


@DBOS.workflow()
def conductor_blocked(tag: str) -> str:
    conductor_step(0)
    while not gates[tag].wait(0.01):
        pass
    return tag


class StandInConductor:
    """A websocket server that plays Conductor: the test asks, the process answers."""

    def __init__(self, port: int = 0) -> None:
        self.paths: list[str] = []
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        self._connection: ServerConnection | None = None
        self._server: Server = serve(self._handle, "127.0.0.1", port)
        self.port: int = self._server.socket.getsockname()[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        self.paths.append(connection.request.path)
        self._connection = connection
        self.connected.set()
        for message in connection:
            self.replies.put(json.loads(message))

    def ask(self, kind: str, **fields: Any) -> dict[str, Any]:
        assert self.connected.wait(30), "the process never connected"
        assert self._connection is not None
        request_id = str(uuid.uuid4())
        self._connection.send(json.dumps({"type": kind, "request_id": request_id, **fields}))
        reply = self.replies.get(timeout=30)
        assert (reply["type"], reply["request_id"]) == (kind, request_id)
        return reply

    def close(self) -> None:
        self.connected.clear()
        self._server.shutdown()


@pytest.fixture
def conductor(system_database_url: str) -> Iterator[StandInConductor]:
    stand_in = StandInConductor()
    DBOS(
        config={
            "name": "conductor-test",
            "system_database_url": system_database_url,
            "conductor_executor_metadata": {"zone": "eu-1"},
        },
        conductor_url=f"ws://127.0.0.1:{stand_in.port}",
        conductor_key="secret-key",
    )
    DBOS.launch()
    try:
        yield stand_in
    finally:
        for gate in gates.values():
            gate.set()
        DBOS.destroy()
        stand_in.close()


def test_it_connects_to_the_app_endpoint_and_says_who_it_is(conductor: StandInConductor) -> None:
    reply = conductor.ask("executor_info")
    assert conductor.paths == ["/websocket/conductor-test/secret-key"]
    assert reply["error_message"] is None
    assert str(uuid.UUID(reply["executor_id"])) == reply["executor_id"]  # fresh, not "local"
    assert reply["executor_id"] == DBOS.executor_id
    assert reply["application_version"] == DBOS.application_version
    assert reply["language"] == "python"
    assert reply["hostname"] == socket.gethostname()
    assert reply["executor_metadata"] == {"zone": "eu-1"}


def test_listing_getting_and_steps(conductor: StandInConductor) -> None:
    for n in range(3):
        with SetWorkflowID(f"cond-{n}"):
            conductor_add(n)
    name = spec_of(conductor_add).name  # type: ignore[union-attr]
    listed = conductor.ask("list_workflows", body={"workflow_name": name, "sort_desc": True})
    assert [w["WorkflowUUID"] for w in listed["output"]] == ["cond-2", "cond-1", "cond-0"]
    got = conductor.ask("get_workflow", workflow_id="cond-1")
    assert (got["output"]["Status"], got["output"]["Output"]) == ("SUCCESS", "4")
    assert conductor.ask("get_workflow", workflow_id="nope")["output"] is None
    steps = conductor.ask("list_steps", workflow_id="cond-2")["output"]
    assert [(s["function_id"], s["output"]) for s in steps] == [(1, "3"), (2, "3")]
    metrics = conductor.ask("get_metrics", start_time="2000-01-01T00:00:00Z")["metrics"]
    assert {"metric_type": "workflow_count", "metric_name": name, "value": 3} in metrics
    step_name = steps[0]["function_name"]
    assert {"metric_type": "step_count", "metric_name": step_name, "value": 6} in metrics


def test_cancel_resume_restart_fork_and_delete(conductor: StandInConductor) -> None:
    gates["c"] = threading.Event()
    handle = DBOS.start_workflow(conductor_blocked, "c")
    wait_until(lambda: len(DBOS.list_workflow_steps(handle.workflow_id)) == 1)
    queued = conductor.ask("list_queued_workflows", body={})
    assert queued["output"] == []  # started directly, on no queue
    assert conductor.ask("cancel", workflow_id=handle.workflow_id)["success"] is True
    assert status_of(handle.workflow_id) == "CANCELLED"
    gates["c"].set()
    assert conductor.ask("resume", workflow_id=handle.workflow_id)["success"] is True
    assert DBOS.retrieve_workflow(handle.workflow_id).get_result() == "c"

    with SetWorkflowID("cond-original"):
        conductor_add(1)
    assert conductor.ask("restart", workflow_id="cond-original")["success"] is True
    forked = conductor.ask(
        "fork_workflow",
        body={"workflow_id": "cond-original", "start_step": 2, "new_workflow_id": "cond-fork"},
    )
    assert forked["new_workflow_id"] == "cond-fork"
    assert DBOS.retrieve_workflow("cond-fork").get_result() == 4
    assert conductor.ask("delete", workflow_ids=["cond-fork"])["success"] is True
    assert status_of("cond-fork") is None


def test_application_versions(conductor: StandInConductor) -> None:
    listed = conductor.ask("list_application_versions")["output"]
    assert [v["version_name"] for v in listed] == [DBOS.application_version]
    answer = conductor.ask("set_latest_application_version", version_name="v-next")
    assert answer["success"] is True
    assert DBOS.get_latest_application_version()["version_name"] == "v-next"


def test_recovery_and_pending_workflows_of_another_executor(conductor: StandInConductor) -> None:
    rt = launched.runtime()
    spec = spec_of(conductor_add)
    assert spec is not None
    record = attrs.evolve(rt.new_record(spec, "cond-orphan", (5,), {}), executor_id="gone")
    rt.store.insert_workflow(record)
    version = rt.application_version
    pending = conductor.ask(
        "exist_pending_workflows", executor_id="gone", application_version=version
    )
    assert pending["exist"] is True
    assert conductor.ask("recovery", executor_ids=["gone"])["success"] is True
    assert DBOS.retrieve_workflow("cond-orphan").get_result() == 12
    pending = conductor.ask(
        "exist_pending_workflows", executor_id="gone", application_version=version
    )
    assert pending["exist"] is False


def test_retention_collects_garbage_and_times_out(conductor: StandInConductor) -> None:
    for n in range(3):
        with SetWorkflowID(f"cond-gc-{n}"):
            conductor_add(n)
    gates["r"] = threading.Event()
    active = DBOS.start_workflow(conductor_blocked, "r")
    cutoff = int(time.time() * 1000) + 1
    reply = conductor.ask(
        "retention", body={"gc_cutoff_epoch_ms": cutoff, "timeout_cutoff_epoch_ms": cutoff}
    )
    assert reply["success"] is True
    assert [s.workflow_id for s in DBOS.list_workflows()] == [active.workflow_id]
    assert status_of(active.workflow_id) == "CANCELLED"


@DBOS.workflow()
def conductor_events() -> None:
    DBOS.set_event("progress", 42)


def test_events_bad_requests_and_unknown_types(conductor: StandInConductor) -> None:
    with SetWorkflowID("cond-events"):
        conductor_events()
    events = conductor.ask("get_workflow_events", workflow_id="cond-events")
    assert events["events"] == [{"key": "progress", "value": "42"}]
    unknown = conductor.ask("no_such_type")
    assert unknown["error_message"] == "unknown request type 'no_such_type'"
    failed = conductor.ask("get_workflow")  # no workflow_id
    assert failed["error_message"] is not None and "workflow_id" in failed["error_message"]
    assert conductor.ask("executor_info")["error_message"] is None  # still serving


def test_it_reconnects_after_conductor_goes_away(conductor: StandInConductor) -> None:
    port = conductor.port
    conductor.close()
    time.sleep(0.2)
    again = StandInConductor(port)
    try:
        reply = again.ask("executor_info")
        assert reply["executor_id"] == DBOS.executor_id
    finally:
        again.close()


def test_an_unreachable_conductor_never_stops_the_application(
    system_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    DBOS(
        config={"name": "conductor-test", "system_database_url": system_database_url},
        conductor_url=f"ws://127.0.0.1:{closed_port}",
        conductor_key="k",
    )
    with caplog.at_level(logging.WARNING, logger="dbos"):
        DBOS.launch()
        try:
            assert conductor_add(1) == 4
            wait_until(lambda: "Cannot reach DBOS Conductor" in caplog.text)
        finally:
            DBOS.destroy()
    assert caplog.text.count("Cannot reach DBOS Conductor") == 1  # one warning per outage


conductor_queue = Queue("conductor-queue", concurrency=3)


@DBOS.step()
def conductor_fails_once(tag: str) -> str:
    if tag not in gates:
        gates[tag] = threading.Event()
        raise RuntimeError("first attempt fails")
    return tag


@DBOS.workflow()
def conductor_fragile(tag: str) -> str:
    conductor_step(0)
    return conductor_fails_once(tag)


def test_fork_from_failure_aggregates_and_queues(conductor: StandInConductor) -> None:
    tag = f"fragile-{uuid.uuid4()}"  # fails once per process: a fresh tag per store
    with SetWorkflowID("cond-fragile"), pytest.raises(RuntimeError):
        conductor_fragile(tag)
    forked = conductor.ask("fork_from_failure", body={"workflow_ids": ["cond-fragile"]})
    [fork_id] = forked["new_workflow_ids"]
    assert DBOS.retrieve_workflow(fork_id).get_result() == tag
    # The fork re-ran only the failed step: step 1 came from the original's log.
    assert [s["function_id"] for s in DBOS.list_workflow_steps(fork_id)] == [1, 2]

    by_status = conductor.ask("get_workflow_aggregates", body={"group_by": "status"})["output"]
    assert {g["group"]: g["count"] for g in by_status} == {"ERROR": 1, "SUCCESS": 1}
    by_step = conductor.ask("get_step_aggregates", body={})["output"]
    counts = {s["name"]: (s["count"], s["errors"]) for s in by_step}
    assert [v for k, v in counts.items() if k.endswith("conductor_fails_once")] == [(2, 1)]
    queues = conductor.ask("list_queues")["output"]
    assert {"name": "conductor-queue", "concurrency": 3} in queues
    assert conductor.ask("get_queue", queue_name="conductor-queue")["output"] == {
        "name": "conductor-queue",
        "concurrency": 3,
    }
    assert conductor.ask("get_queue", queue_name="no-such-queue")["output"] is None


def test_alerts_reach_the_one_alert_handler(system_database_url: str) -> None:
    received: list[tuple[str, str, dict[str, str]]] = []
    forget_alert_handler()
    try:

        @DBOS.alert_handler
        def on_alert(name: str, message: str, metadata: dict[str, str]) -> None:
            received.append((name, message, metadata))

        with pytest.raises(DBOSException, match="An alert_handler is already defined"):
            DBOS.alert_handler(on_alert)
        stand_in = StandInConductor()
        DBOS(
            config={"name": "conductor-test", "system_database_url": system_database_url},
            conductor_url=f"ws://127.0.0.1:{stand_in.port}",
            conductor_key="k",
        )
        DBOS.launch()
        try:
            with pytest.raises(DBOSException, match="must be defined before DBOS is launched"):
                DBOS.alert_handler(on_alert)
            reply = stand_in.ask(
                "alert", name="queue-depth", message="too deep", metadata={"queue": "q"}
            )
            assert reply["success"] is True and reply["error_message"] is None
            assert received == [("queue-depth", "too deep", {"queue": "q"})]
        finally:
            DBOS.destroy()
            stand_in.close()
    finally:
        forget_alert_handler()


@DBOS.workflow()
def conductor_scheduled(scheduled_time: datetime, context: Any) -> str:
    return f"{context} at {scheduled_time.isoformat()}"


def test_schedule_requests(conductor: StandInConductor) -> None:
    DBOS.create_schedule(
        schedule_name="cond-nightly",
        workflow_fn=conductor_scheduled,
        schedule="0 3 * * *",
        context="ctx",
    )
    listed = conductor.ask("list_schedules", body={})["output"]
    assert [(s["schedule_name"], s["status"]) for s in listed] == [("cond-nightly", "ACTIVE")]
    got = conductor.ask("get_schedule", schedule_name="cond-nightly")["output"]
    assert got["schedule"] == "0 3 * * *" and got["context"] == "'ctx'"
    assert conductor.ask("get_schedule", schedule_name="none")["output"] is None
    assert conductor.ask("pause_schedule", schedule_name="cond-nightly")["success"] is True
    assert DBOS.get_schedule("cond-nightly")["status"] == "PAUSED"  # type: ignore[index]
    assert conductor.ask("resume_schedule", schedule_name="cond-nightly")["success"] is True
    assert DBOS.get_schedule("cond-nightly")["status"] == "ACTIVE"  # type: ignore[index]
    backfilled = conductor.ask(
        "backfill_schedule",
        schedule_name="cond-nightly",
        body={"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-03T00:00:00+00:00"},
    )["workflow_ids"]
    assert len(backfilled) == 2
    results = [DBOS.retrieve_workflow(w).get_result() for w in backfilled]
    assert results == ["ctx at 2026-01-01T03:00:00+00:00", "ctx at 2026-01-02T03:00:00+00:00"]
    triggered = conductor.ask("trigger_schedule", schedule_name="cond-nightly")["workflow_id"]
    assert DBOS.retrieve_workflow(triggered).get_result().startswith("ctx at ")
    failed = conductor.ask("pause_schedule", schedule_name=None, body={})
    assert failed["error_message"] is not None
