"""Bad input writes nothing: each row of the table in ``docs/operations.md`` raises its
error and leaves the system database as it was (on every store)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from transact import DBOS, Queue, SetEnqueueOptions, SetWorkflowID, SetWorkflowTimeout
from transact.errors import (
    DBOSException,
    DBOSInitializationError,
    DBOSNonExistentWorkflowError,
)

bad_queue = Queue("bad-input-queue", priority_enabled=True)


@DBOS.workflow()
def echo(x: Any = None) -> Any:
    return x


@DBOS.workflow()
def recv_negative() -> Any:
    return DBOS.recv("t", timeout_seconds=-1)


@DBOS.workflow()
def send_unserializable() -> None:
    DBOS.send(DBOS.workflow_id or "", threading.Lock())


@DBOS.workflow()
def event_unserializable() -> None:
    DBOS.set_event("k", threading.Lock())


def not_a_workflow() -> int:
    return 1


@pytest.fixture
def launched(system_database_url: str) -> Iterator[None]:
    DBOS.destroy()
    DBOS(config={"name": "bad-input", "system_database_url": system_database_url})
    DBOS.launch()
    with SetWorkflowID("existing"):
        echo(1)
    yield
    DBOS.destroy()


def snapshot() -> list[tuple[Any, ...]]:
    """Every workflow with its status, steps and events."""
    rows = []
    for status in DBOS.list_workflows():
        wf = status.workflow_id
        steps = [(s["function_id"], s["function_name"]) for s in DBOS.list_workflow_steps(wf)]
        rows.append((wf, status.status, steps, sorted(DBOS.get_all_events(wf).items())))
    return sorted(rows)


def with_id(value: Any) -> Callable[[], Any]:
    def run() -> Any:
        with SetWorkflowID(value):
            return echo(1)

    return run


def with_timeout(value: Any) -> Callable[[], Any]:
    def run() -> Any:
        with SetWorkflowTimeout(value):
            return echo(1)

    return run


def enqueue_with(**options: Any) -> Callable[[], Any]:
    def run() -> Any:
        with SetEnqueueOptions(**options):
            return bad_queue.enqueue(echo, 1)

    return run


CASES: list[tuple[str, Callable[[], Any], type[BaseException], str]] = [
    ("unserializable argument", lambda: echo(threading.Lock()), DBOSException, "cannot serialize"),
    (
        "unserializable message",
        lambda: DBOS.send("existing", threading.Lock()),
        DBOSException,
        "cannot serialize the message",
    ),
    (
        "message to an unknown workflow",
        lambda: DBOS.send("no-such-workflow", 1),
        DBOSNonExistentWorkflowError,
        "Non-existent `send` destination workflow ID: no-such-workflow",
    ),
    (
        "retrieve an unknown workflow",
        lambda: DBOS.retrieve_workflow("no-such-workflow").get_status(),
        DBOSNonExistentWorkflowError,
        "Non-existent target workflow ID: no-such-workflow",
    ),
    (
        "resume an unknown workflow",
        lambda: DBOS.resume_workflow("no-such-workflow"),
        DBOSNonExistentWorkflowError,
        "Non-existent Workflow workflow ID: no-such-workflow",
    ),
    (
        "fork an unknown workflow",
        lambda: DBOS.fork_workflow("no-such-workflow", 1),
        DBOSNonExistentWorkflowError,
        "Non-existent target workflow ID: no-such-workflow",
    ),
    ("empty workflow id", with_id(""), DBOSException, "workflow IDs must be non-empty"),
    ("workflow id not a string", with_id(123), DBOSException, "Invalid workflow ID 123"),
    ("negative workflow timeout", with_timeout(-1), Exception, "Timeouts must be positive"),
    ("workflow timeout not a number", with_timeout("10"), TypeError, "must be a number"),
    (
        "negative queue concurrency",
        lambda: Queue("bad-q1", concurrency=-1),
        ValueError,
        "concurrency must be at least 1",
    ),
    (
        "queue concurrency not an int",
        lambda: Queue("bad-q2", concurrency="3"),  # type: ignore[arg-type]
        ValueError,
        "concurrency must be at least 1",
    ),
    (
        "worker concurrency above the global limit",
        lambda: Queue("bad-q3", concurrency=1, worker_concurrency=2),
        ValueError,
        "concurrency must be greater than or equal to worker_concurrency",
    ),
    (
        "negative rate limit",
        lambda: Queue("bad-q4", limiter={"limit": -1, "period": 1}),
        ValueError,
        "limiter limit must be a positive integer",
    ),
    (
        "queue name taken",
        lambda: Queue("bad-input-queue"),
        DBOSException,
        "already exists",
    ),
    ("negative priority", enqueue_with(priority=-1), ValueError, "Priority must be between"),
    ("priority not an int", enqueue_with(priority="high"), ValueError, "Priority must be between"),
    ("negative delay", enqueue_with(delay_seconds=-1), ValueError, "delay_seconds must be"),
    (
        "recv outside a workflow",
        lambda: DBOS.recv("t", timeout_seconds=0),
        DBOSException,
        "must be called from within a workflow",
    ),
    (
        "start an undecorated function",
        lambda: DBOS.start_workflow(not_a_workflow),
        DBOSException,
        "not_a_workflow is not a registered workflow function",
    ),
    ("invalid cron", lambda: DBOS.scheduled("* * *")(echo), ValueError, "invalid cron schedule"),
    (
        "negative list limit",
        lambda: DBOS.list_workflows(limit=-1),
        ValueError,
        "limit must not be negative",
    ),
]


@pytest.mark.parametrize(("case", "call", "error", "text"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_and_writes_nothing(
    launched: None, case: str, call: Callable[[], Any], error: type[BaseException], text: str
) -> None:
    before = snapshot()
    with pytest.raises(error, match=text):
        call()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("workflow", "text"),
    [
        (recv_negative, "timeout_seconds must not be negative"),
        (send_unserializable, "cannot serialize the message"),
        (event_unserializable, "cannot serialize the value of event"),
    ],
)
def test_bad_input_inside_a_workflow_fails_it_with_nothing_half_written(
    launched: None, workflow: Callable[[], Any], text: str
) -> None:
    with SetWorkflowID("failing"), pytest.raises(Exception, match=text):
        workflow()
    status = DBOS.get_workflow_status("failing")
    assert status is not None and status.status == "ERROR"
    assert DBOS.list_workflow_steps("failing") == []  # the operation recorded nothing
    assert DBOS.get_all_events("failing") == {}


def test_cancelling_an_unknown_workflow_writes_nothing(launched: None) -> None:
    before = snapshot()
    DBOS.cancel_workflow("no-such-workflow")
    assert snapshot() == before


def test_an_oversized_payload_round_trips(launched: None) -> None:
    big = "x" * (5 * 1024 * 1024)
    with SetWorkflowID("big"):
        assert echo(big) == big
    assert DBOS.retrieve_workflow("big").get_result() == big


def test_concurrent_destroy_is_harmless(launched: None, system_database_url: str) -> None:
    before = snapshot()
    threads = [threading.Thread(target=DBOS.destroy) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    DBOS(config={"name": "bad-input", "system_database_url": system_database_url})
    DBOS.launch()
    assert snapshot() == before


def test_a_workflow_not_registered_at_recovery_is_left_as_it_was(
    durable_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from transact._store.factory import open_store
    from transact._store.records import WorkflowRecord

    store = open_store(durable_database_url)
    store.migrate()
    store.insert_workflow(
        WorkflowRecord(workflow_id="ghost", status="PENDING", name="gone", executor_id="local")
    )
    store.close()
    DBOS.destroy()
    caplog.set_level(logging.WARNING)
    DBOS(config={"name": "bad-input", "system_database_url": durable_database_url})
    DBOS.launch()
    try:
        status = DBOS.get_workflow_status("ghost")
        assert status is not None and status.status == "PENDING"
        assert DBOS.list_workflow_steps("ghost") == []
    finally:
        DBOS.destroy()


CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    (
        "malformed URL",
        {"system_database_url": "postgresql://bad url:x/"},
        "Database name must be specified",
    ),
    (
        "unsupported scheme",
        {"system_database_url": "mysql://host/db"},
        "invalid system_database_url",
    ),
    (
        "unreachable server",
        {"system_database_url": "postgresql://postgres@127.0.0.1:1/x"},
        "cannot connect to the system database",
    ),
    ("pool size 0", {"sys_db_pool_size": 0}, "sys_db_pool_size must be positive"),
    ("unknown key", {"bogus": 1}, "unknown config key"),
    ("negative retry timeout", {"system_database_retry_timeout_sec": -1}, "retry_timeout"),
    ("bad name", {"name": "Bad Name!"}, "Invalid app name Bad Name!"),
]


@pytest.mark.parametrize(("case", "config", "text"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_bad_configuration_fails_at_launch_and_creates_nothing(
    tmp_path: Path, case: str, config: dict[str, Any], text: str
) -> None:
    database = tmp_path / "never.sqlite"
    full = {"name": "bad-input", "system_database_url": f"sqlite:///{database}", **config}
    DBOS.destroy()
    with pytest.raises(DBOSInitializationError, match=text):
        DBOS(config=full)  # type: ignore[arg-type]
        DBOS.launch()
    DBOS.destroy()
    assert not database.exists()
