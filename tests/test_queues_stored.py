"""DBOS 3's queues on every store: queues kept in the database (``register_queue`` and
friends, getters and setters picked up while running), partition limits, enqueueing by
name (``enqueue_workflow``, ``enqueue_workflow_with_options``), duplication policies,
``listen_queues`` and ``set_workflow_delay``."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.waiting import wait_until
from transact import DBOS, EnqueueOptions, Queue, SetEnqueueOptions
from transact._runtime.queue_runner import QUEUES
from transact.errors import DBOSException, DBOSQueueDeduplicatedError

lock = threading.Lock()
running: dict[str, int] = {}
peaks: dict[str, int] = {}
gates: dict[str, threading.Event] = {}


@DBOS.workflow()
def held(label: str, gate: str) -> str:
    with lock:
        running[label] = running.get(label, 0) + 1
        peaks[label] = max(peaks.get(label, 0), running[label])
    gates[gate].wait(20)
    with lock:
        running[label] -= 1
    return label


@DBOS.workflow()
def echo(value: str) -> str:
    return value


@pytest.fixture
def dbos(system_database_url: str) -> Iterator[type[DBOS]]:
    before = {q.name for q in QUEUES.all()}
    running.clear()
    peaks.clear()
    DBOS.destroy()
    DBOS(config={"name": "stored-queue-tests", "system_database_url": system_database_url})
    DBOS.launch()
    yield DBOS
    for gate in gates.values():
        gate.set()
    DBOS.destroy()
    for q in QUEUES.all():
        if q.name not in before:
            QUEUES.remove(q.name)


def fresh(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def gate() -> str:
    name = uuid.uuid4().hex
    gates[name] = threading.Event()
    return name


def running_now(label: str) -> int:
    with lock:
        return running.get(label, 0)


# --- the queues table ------------------------------------------------------------------


def test_register_retrieve_list_delete(dbos: type[DBOS]) -> None:
    name = fresh()
    queue = DBOS.register_queue(
        name,
        worker_concurrency=2,
        global_concurrency=4,
        limiter={"limit": 10, "period": 2.5},
        partition_concurrency=3,
        polling_interval_sec=0.5,
    )
    assert isinstance(queue, Queue) and queue.name == name
    assert (queue.global_concurrency, queue.concurrency, queue.worker_concurrency) == (4, 4, 2)
    assert queue.limiter == {"limit": 10, "period": 2.5}
    assert queue.partition_concurrency == 3 and queue.partition_limiter is None
    assert queue.polling_interval_sec == 0.5 and queue.partition_queue is False
    got = DBOS.retrieve_queue(name)
    assert got is not None and got.worker_concurrency == 2
    assert DBOS.retrieve_queue(fresh()) is None
    assert name in [q.name for q in DBOS.list_queues()]
    # on_conflict: never_update keeps the row; the default overwrites it.
    DBOS.register_queue(name, worker_concurrency=1, on_conflict="never_update")
    assert queue.worker_concurrency == 2
    DBOS.register_queue(name, worker_concurrency=1)
    assert queue.worker_concurrency == 1 and queue.global_concurrency is None
    DBOS.delete_queue(name)
    assert DBOS.retrieve_queue(name) is None
    with pytest.raises(DBOSException, match=f"Queue {name} not found in the database"):
        _ = queue.worker_concurrency


def test_setters_persist_and_validate(dbos: type[DBOS]) -> None:
    queue = DBOS.register_queue(fresh(), global_concurrency=5)
    queue.set_worker_concurrency(3)
    queue.set_limiter({"limit": 2, "period": 1.0})
    queue.set_partition_worker_concurrency(2)
    again = DBOS.retrieve_queue(queue.name)
    assert again is not None
    assert (again.worker_concurrency, again.limiter) == (3, {"limit": 2, "period": 1.0})
    assert again.partition_worker_concurrency == 2
    with pytest.raises(ValueError, match="concurrency must be greater than or equal to worker"):
        queue.set_worker_concurrency(6)
    with pytest.raises(ValueError, match="partition_limiter must specify both"):
        queue.set_partition_limiter({"limit": 1})
    with pytest.raises(ValueError, match="polling_interval_sec must be positive"):
        queue.set_polling_interval_sec(0)
    assert queue.worker_concurrency == 3  # a refused change wrote nothing
    queue.set_global_concurrency(None)
    assert queue.concurrency is None
    with pytest.raises(AttributeError, match="set_concurrency"):
        queue.concurrency = 4


def test_async_getters_and_setters(dbos: type[DBOS]) -> None:
    async def body() -> tuple[int | None, int | None, list[str]]:
        queue = await DBOS.register_queue_async(fresh(), worker_concurrency=1)
        await queue.set_worker_concurrency_async(2)
        names = [q.name for q in await DBOS.list_queues_async()]
        got = await DBOS.retrieve_queue_async(queue.name)
        assert got is not None
        value = await got.get_worker_concurrency_async()
        await DBOS.delete_queue_async(queue.name)
        return value, await queue.get_partition_concurrency_async(), names

    with pytest.raises(DBOSException, match="not found"):
        asyncio.run(body())


def test_sync_settings_on_a_loop_thread_warn(
    dbos: type[DBOS], caplog: pytest.LogCaptureFixture
) -> None:
    queue = DBOS.register_queue(fresh(), worker_concurrency=1)
    declared = Queue(fresh(), concurrency=3)

    async def body() -> None:
        assert declared.concurrency == 3  # declared in code: no database read, no warning
        await queue.set_worker_concurrency_async(2)
        assert await queue.get_worker_concurrency_async() == 2
        assert not caplog.records
        assert queue.worker_concurrency == 2
        queue.set_worker_concurrency(4)

    asyncio.run(body())
    assert [r.getMessage() for r in caplog.records] == [
        "Synchronous 'Queue.worker_concurrency' was called from a running asyncio event loop. "
        "This blocks the loop on a database round-trip. Use "
        "'Queue.get_worker_concurrency_async' instead.",
        "Synchronous 'Queue.set_worker_concurrency' was called from a running asyncio event "
        "loop. This blocks the loop on a database round-trip. Use "
        "'Queue.set_worker_concurrency_async' instead.",
    ]
    assert queue.worker_concurrency == 4


def test_in_code_queue_takes_v3_keywords_and_refuses_setters(dbos: type[DBOS]) -> None:
    queue = Queue(fresh(), global_concurrency=3, partition_concurrency=1, worker_concurrency=2)
    assert (queue.global_concurrency, queue.partition_concurrency) == (3, 1)
    with pytest.raises(DBOSException, match="dynamic configuration is only supported"):
        queue.set_worker_concurrency(1)
    with pytest.raises(AttributeError):
        queue.worker_concurrency = 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 1, "global_concurrency": 1}, "concurrency is deprecated"),
        ({"partition_concurrency": 0}, "partition_concurrency must be at least 1"),
        (
            {"partition_concurrency": 1, "partition_worker_concurrency": 2},
            "partition_concurrency must be greater than or equal to partition_worker",
        ),
        (
            {"global_concurrency": 1, "partition_concurrency": 2},
            "global_concurrency must be greater than or equal to partition_concurrency",
        ),
        ({"partition_queue": True, "partition_concurrency": 1}, "partition_queue is deprecated"),
        ({"limiter": {"limit": 1}}, "limiter must specify both 'limit' and 'period'"),
    ],
)
def test_invalid_limits(dbos: type[DBOS], options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DBOS.register_queue(fresh(), **options)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is reserved"):
        DBOS.register_queue("_dbos_mine")


# --- serving stored queues -------------------------------------------------------------


def test_stored_queue_runs_and_picks_up_limit_changes(dbos: type[DBOS]) -> None:
    queue = DBOS.register_queue(fresh(), worker_concurrency=1, polling_interval_sec=0.05)
    label, g = fresh("label"), gate()
    handles = [queue.enqueue(held, label, g) for _ in range(3)]
    wait_until(lambda: running_now(label) == 1)
    time.sleep(0.2)
    assert running_now(label) == 1  # the limit holds
    queue.set_worker_concurrency(3)
    wait_until(lambda: running_now(label) == 3)
    gates[g].set()
    assert [h.get_result() for h in handles] == [label] * 3


def test_deleted_queue_is_no_longer_served(dbos: type[DBOS]) -> None:
    queue = DBOS.register_queue(fresh(), polling_interval_sec=0.05)
    assert queue.enqueue(echo, "before").get_result() == "before"
    DBOS.delete_queue(queue.name)
    handle = DBOS.enqueue_workflow(queue.name, echo, "after")
    time.sleep(0.3)
    assert handle.get_status().status == "ENQUEUED"
    DBOS.register_queue(queue.name, polling_interval_sec=0.05)
    assert handle.get_result() == "after"


def test_partition_limits_hold_per_key_and_for_the_queue(dbos: type[DBOS]) -> None:
    queue = DBOS.register_queue(
        fresh(), partition_concurrency=1, worker_concurrency=3, polling_interval_sec=0.05
    )
    g = gate()
    handles = []
    for key in ["a", "a", "b", "b", "c", "c", "d"]:
        with SetEnqueueOptions(queue_partition_key=key):
            handles.append(queue.enqueue(held, f"part-{key}", g))
    wait_until(lambda: sum(running_now(f"part-{k}") for k in "abcd") == 3)
    time.sleep(0.2)
    assert sum(running_now(f"part-{k}") for k in "abcd") == 3  # the queue's worker limit
    gates[g].set()
    for h in handles:
        h.get_result()
    assert all(peaks[f"part-{k}"] == 1 for k in "abcd")


# --- enqueueing by name ----------------------------------------------------------------


def test_enqueue_workflow_by_queue_name(dbos: type[DBOS]) -> None:
    queue = DBOS.register_queue(fresh(), polling_interval_sec=0.05)
    handle = DBOS.enqueue_workflow(queue.name, echo, "hi")
    assert handle.get_result() == "hi"

    async def body() -> str:
        h = await DBOS.enqueue_workflow_async(queue.name, echo, "async")
        return str(await h.get_result())

    assert asyncio.run(body()) == "async"


def test_enqueue_with_options(dbos: type[DBOS]) -> None:
    queue = DBOS.register_queue(fresh(), polling_interval_sec=0.05)
    wid = fresh("wf")
    options: EnqueueOptions = {
        "workflow_name": echo.__qualname__,
        "queue_name": queue.name,
        "workflow_id": wid,
        "priority": 3,
        "deduplication_id": "d1",
    }
    handle = DBOS.enqueue_workflow_with_options(options, "opt")
    assert handle.workflow_id == wid
    assert handle.get_result() == "opt"
    status = handle.get_status()
    assert (status.priority, status.queue_name) == (3, queue.name)
    # A workflow this process does not know waits for one that does.
    other = DBOS.enqueue_workflow_with_options(
        {"workflow_name": "not.here", "queue_name": fresh("nobody")}, 1
    )
    row = other.get_status()
    assert (row.status, row.name, row.app_version) == ("ENQUEUED", "not.here", None)
    with pytest.raises(DBOSException, match="Invalid priority 0"):
        DBOS.enqueue_workflow_with_options({**options, "priority": 0})
    with pytest.raises(DBOSException, match="Invalid workflow ID"):
        DBOS.enqueue_workflow_with_options({**options, "workflow_id": " "})
    with pytest.raises(DBOSException, match="Invalid duplication_policy"):
        DBOS.enqueue_workflow_with_options({**options, "duplication_policy": "x"})  # type: ignore[typeddict-item]
    with pytest.raises(DBOSException, match="Deduplication is not supported for partitioned"):
        DBOS.enqueue_workflow_with_options({**options, "queue_partition_key": "k"})


def test_duplication_policies(dbos: type[DBOS]) -> None:
    name = fresh()
    g = gate()
    with SetEnqueueOptions(deduplication_id="same"):
        first = DBOS.enqueue_workflow(name, held, "dup", g)  # nobody serves it yet
    with SetEnqueueOptions(deduplication_id="same"), pytest.raises(DBOSQueueDeduplicatedError):
        DBOS.enqueue_workflow(name, held, "dup", g)
    with SetEnqueueOptions(deduplication_id="same", duplication_policy="return-existing"):
        again = DBOS.enqueue_workflow(name, held, "dup", g)
    assert again.workflow_id == first.workflow_id
    options: EnqueueOptions = {
        "workflow_name": held.__qualname__,
        "queue_name": name,
        "deduplication_id": "same",
        "duplication_policy": "return-existing",
    }
    assert DBOS.enqueue_workflow_with_options(options, "x", g).workflow_id == first.workflow_id
    with pytest.raises(DBOSException, match="Invalid duplication_policy"):
        SetEnqueueOptions(duplication_policy="sometimes")
    with (
        SetEnqueueOptions(duplication_policy="return-existing"),
        pytest.raises(DBOSException, match="'return-existing' requires a queue"),
    ):
        DBOS.start_workflow(echo, "direct")


def test_set_workflow_delay(dbos: type[DBOS]) -> None:
    queue = DBOS.register_queue(fresh(), polling_interval_sec=0.05)
    with SetEnqueueOptions(delay_seconds=3600):
        handle = queue.enqueue(echo, "late")
    assert handle.get_status().status == "DELAYED"
    DBOS.set_workflow_delay(handle.workflow_id, delay_seconds=0)
    assert handle.get_result() == "late"
    for kwargs, message in [
        ({}, "Must specify either"),
        ({"delay_seconds": 1, "delay_until_epoch_ms": 1}, "not both"),
        ({"delay_seconds": -1}, "delay_seconds must be >= 0"),
        ({"delay_until_epoch_ms": -1}, "delay_until_epoch_ms must be >= 0"),
    ]:
        with pytest.raises(DBOSException, match=message):
            DBOS.set_workflow_delay(handle.workflow_id, **kwargs)
    with SetEnqueueOptions(delay_seconds=3600):
        later = queue.enqueue(echo, "later")
    asyncio.run(
        DBOS.set_workflow_delay_async(
            later.workflow_id, delay_until_epoch_ms=int(time.time() * 1000)
        )
    )
    assert later.get_result() == "later"


def test_listen_queues_serves_only_the_named_queues(system_database_url: str) -> None:
    DBOS.destroy()
    served, ignored = fresh("served"), fresh("ignored")
    DBOS(config={"name": "listening", "system_database_url": system_database_url})
    DBOS.listen_queues([served])
    with pytest.raises(DBOSException, match="listen_queues called more than once"):
        DBOS.listen_queues([served])
    DBOS.launch()
    try:
        with pytest.raises(DBOSException, match="after DBOS is launched"):
            DBOS.listen_queues([served])
        DBOS.register_queue(served, polling_interval_sec=0.05)
        DBOS.register_queue(ignored, polling_interval_sec=0.05)
        skipped = DBOS.enqueue_workflow(ignored, echo, "no")
        assert DBOS.enqueue_workflow(served, echo, "yes").get_result() == "yes"
        time.sleep(0.2)
        assert skipped.get_status().status == "ENQUEUED"
    finally:
        DBOS.destroy()


def test_workflow_id_reuse_policy(dbos: type[DBOS]) -> None:
    from transact import SetWorkflowID
    from transact.errors import DBOSWorkflowIDInUseError

    queue = DBOS.register_queue(fresh(), polling_interval_sec=0.05)
    wid = fresh("reused")
    with SetWorkflowID(wid, workflow_id_reuse_policy="reject"):
        assert DBOS.start_workflow(echo, "first").get_result() == "first"
    with SetWorkflowID(wid, workflow_id_reuse_policy="return-existing"):
        assert DBOS.start_workflow(echo, "again").get_result() == "first"
    message = f"Workflow ID {wid} is already in use by workflow .*echo with status SUCCESS"
    with (
        SetWorkflowID(wid, workflow_id_reuse_policy="reject"),
        pytest.raises(DBOSWorkflowIDInUseError, match=message),
    ):
        DBOS.start_workflow(echo, "again")
    with (
        SetWorkflowID(wid, workflow_id_reuse_policy="reject"),
        pytest.raises(DBOSWorkflowIDInUseError),
    ):
        queue.enqueue(echo, "again")
    options: EnqueueOptions = {
        "workflow_name": echo.__qualname__,
        "queue_name": queue.name,
        "workflow_id": wid,
        "workflow_id_reuse_policy": "reject",
    }
    with pytest.raises(DBOSWorkflowIDInUseError):
        DBOS.enqueue_workflow_with_options(options, "again")
    with pytest.raises(DBOSException, match="Invalid workflow_id_reuse_policy sometimes"):
        SetWorkflowID(wid, workflow_id_reuse_policy="sometimes")  # type: ignore[arg-type]


def test_register_before_launch(system_database_url: str) -> None:
    DBOS.destroy()
    name = fresh("early")
    DBOS(config={"name": "early-queues", "system_database_url": system_database_url})
    queue = DBOS.register_queue(name, worker_concurrency=2, polling_interval_sec=0.05)
    DBOS.launch()
    try:
        assert queue.worker_concurrency == 2
        assert queue.enqueue(echo, "early").get_result() == "early"
    finally:
        DBOS.destroy()
