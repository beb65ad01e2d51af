"""``DBOSClient`` from the test process against an application in another process
(``tests/client_worker.py``), on SQLite and Postgres, sync and async."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import emptied
from tests.waiting import wait_until
from transact import DBOSClient, DebouncerClient, EnqueueOptions, SendMessage
from transact.errors import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSQueueDeduplicatedError,
)

pytestmark = pytest.mark.slow

Worker = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def worker(durable_database_url: str) -> Iterator[Worker]:
    """Start the application process, starting the given ``NAME:ID`` workflows; every
    one started is stopped (stdin closed) after the test."""
    started: list[subprocess.Popen[str]] = []

    def start(*workflows: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.client_worker", durable_database_url, *workflows],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "ready", process.stderr.read() if process.stderr else ""
        return process

    yield start
    for process in started:
        try:
            process.communicate(input="", timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture
def client(durable_database_url: str) -> Iterator[DBOSClient]:
    # A client never migrates: the database is the application's, migrated already.
    opened = DBOSClient(system_database_url=emptied(durable_database_url))
    yield opened
    opened.destroy()


def test_events_streams_messages_and_results(worker: Worker, client: DBOSClient) -> None:
    worker("conversation:conv-1")
    assert client.get_event("conv-1", "ready", timeout_seconds=30) == "hello"
    assert client.get_all_events("conv-1") == {"ready": "hello"}
    assert list(client.read_stream("conv-1", "numbers", timeout_seconds=30)) == [2, 4]
    assert list(client.read_stream("conv-1", "numbers", offset=1)) == [4]
    client.send("conv-1", "one", "in", "key-1")
    client.send("conv-1", "one again", "in", "key-1")  # the same key: sends nothing
    client.send_bulk([SendMessage("conv-1", "two", "in")])
    handle = client.retrieve_workflow("conv-1")
    assert handle.get_result() == "hello: one, two"
    status = handle.get_status()
    assert (status.status, status.name, status.executor_id) == (
        "SUCCESS",
        "client.conversation",
        "worker",
    )
    steps = client.list_workflow_steps("conv-1")
    assert [s["function_name"] for s in steps][:2] == ["DBOS.setEvent", "client.double"]
    assert [w.workflow_id for w in client.list_workflows(name="client.conversation")] == ["conv-1"]
    assert client.get_event("conv-1", "never-set", timeout_seconds=0.1) is None


def test_cancel_resume_fork_and_delete(worker: Worker, client: DBOSClient) -> None:
    worker("waiter:wait-1", "doubled:dbl-1")
    assert client.retrieve_workflow("dbl-1").get_result() == 84
    wait_until(lambda: len(client.list_workflow_steps("wait-1")) >= 1)
    client.cancel_workflow("wait-1")
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        client.retrieve_workflow("wait-1").get_result()
    resumed = client.resume_workflow("wait-1")
    client.send("wait-1", "now", "go")
    assert resumed.get_result() == "went now"
    fork = client.fork_workflow("dbl-1", 2, forked_workflow_id="dbl-fork")
    assert fork.get_result() == 84
    assert [s["function_id"] for s in client.list_workflow_steps("dbl-fork")] == [1, 2]
    first = client.wait_first([client.retrieve_workflow("dbl-fork")])
    assert first.workflow_id == "dbl-fork"
    client.delete_workflow("dbl-fork")
    assert client.get_workflow_status("dbl-fork") is None
    with pytest.raises(DBOSNonExistentWorkflowError):
        client.retrieve_workflow("dbl-fork")
    with pytest.raises(DBOSNonExistentWorkflowError):
        client.cancel_workflow("no-such-workflow")


def test_the_async_twins(worker: Worker, client: DBOSClient) -> None:
    worker("conversation:conv-a", "doubled:dbl-a")

    async def drive() -> None:
        assert await client.get_event_async("conv-a", "ready", timeout_seconds=30) == "hello"
        values = [v async for v in client.read_stream_async("conv-a", "numbers")]
        assert values == [2, 4]
        await client.send_async("conv-a", "one", "in")
        await client.send_bulk_async([SendMessage("conv-a", "two", "in")])
        handle = await client.retrieve_workflow_async("conv-a")
        assert await handle.get_result() == "hello: one, two"
        assert (await handle.get_status()).status == "SUCCESS"
        listed = await client.list_workflows_async(workflow_ids=["conv-a", "dbl-a"])
        assert sorted(w.workflow_id for w in listed) == ["conv-a", "dbl-a"]
        assert len(await client.list_workflow_steps_async("dbl-a")) == 2
        fork = await client.fork_workflow_async("dbl-a", 1)
        assert await fork.get_result() == 84
        await client.delete_workflow_async(fork.workflow_id)
        assert await client.get_workflow_status_async(fork.workflow_id) is None

    asyncio.run(drive())


def test_constructor_errors_and_a_lazy_client(durable_database_url: str) -> None:
    with pytest.raises(DBOSException, match="cannot be both lazy and use_listen_notify"):
        DBOSClient(system_database_url=durable_database_url, lazy=True, use_listen_notify=True)
    with pytest.raises(DBOSException, match="requires a system_database_url"):
        DBOSClient()
    lazy = DBOSClient(system_database_url=durable_database_url, lazy=True)
    lazy.destroy()


def test_enqueue_by_name_and_manage_in_bulk(worker: Worker, client: DBOSClient) -> None:
    worker()
    options: EnqueueOptions = {
        "workflow_name": "client.doubled",
        "queue_name": "client-queue",
        "workflow_id": "enq-1",
        "attributes": {"team": "a"},
    }
    handle = client.enqueue(options, 5)
    assert handle.get_result() == 20
    status = client.get_workflow_status("enq-1")
    assert status is not None and status.queue_name == "client-queue"
    assert status.attributes == {"team": "a"}
    client.update_workflow_attributes("enq-1", {"more": 1}, merge=True)
    assert client.list_workflows(attributes={"more": 1})[0].workflow_id == "enq-1"
    # A held deduplication id: refused, or (return-existing) the holder's handle.
    delayed: EnqueueOptions = {
        "workflow_name": "client.doubled",
        "queue_name": "client-queue",
        "deduplication_id": "once",
        "delay_seconds": 3600,
    }
    first = client.enqueue(delayed, 1)
    with pytest.raises(DBOSQueueDeduplicatedError):
        client.enqueue(delayed, 2)
    again = client.enqueue({**delayed, "duplication_policy": "return-existing"}, 2)
    assert again.workflow_id == first.workflow_id
    assert client.get_workflow_status(first.workflow_id).status == "DELAYED"  # type: ignore[union-attr]
    client.set_workflow_delay(first.workflow_id, delay_seconds=0)
    assert first.get_result() == 4
    waiting = [client.enqueue({**options, "workflow_id": f"bulk-{n}"}, n) for n in range(3)]
    for h in waiting:
        h.get_result()
    client.delete_workflows([h.workflow_id for h in waiting])
    assert client.list_workflows(workflow_id_prefix="bulk-") == []
    assert client.list_application_versions()[0] == client.get_latest_application_version()
    assert client.list_schedules() == [] and client.get_schedule("none") is None
    with pytest.raises(DBOSException, match="Invalid priority"):
        client.enqueue({**options, "priority": 0})

    async def enqueue_async() -> int:
        queued = await client.enqueue_async({**options, "workflow_id": "enq-async"}, 7)
        result: int = await queued.get_result()
        await client.cancel_workflows_async(["enq-async"])
        return result

    assert asyncio.run(enqueue_async()) == 28


def test_debouncer_client_and_schedules_by_name(worker: Worker, client: DBOSClient) -> None:
    worker()
    options: EnqueueOptions = {"workflow_name": "client.doubled", "queue_name": "client-queue"}
    debouncer = DebouncerClient(client, options, debounce_timeout_sec=30)
    first = debouncer.debounce("key", 1.0, 1)
    last = debouncer.debounce("key", 0.2, 10)  # the burst runs once, with the last arguments
    assert last.workflow_id == first.workflow_id
    assert last.get_result() == 40
    with pytest.raises(DBOSException, match="with a priority set"):
        DebouncerClient(client, {**options, "priority": 1})

    client.create_schedule(
        schedule_name="every-second",
        workflow_name="client.tick",
        schedule="* * * * * *",
        context="ctx",
    )
    with pytest.raises(DBOSException, match="already exists"):
        client.create_schedule(
            schedule_name="every-second", workflow_name="client.tick", schedule="* * * * * *"
        )
    with pytest.raises(DBOSException, match="Invalid cron schedule"):
        client.apply_schedules(
            [{"schedule_name": "bad", "workflow_name": "client.tick", "schedule": "* *"}]
        )
    assert client.get_schedule("bad") is None  # nothing applied
    wait_until(lambda: len(client.list_workflows(schedule_name="every-second")) > 0, 30)
    fired = client.list_workflows(schedule_name="every-second")[0]
    assert client.retrieve_workflow(fired.workflow_id).get_result().startswith("ctx at ")
    client.pause_schedule("every-second")
    assert client.get_schedule("every-second")["status"] == "PAUSED"  # type: ignore[index]
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    backfilled = client.backfill_schedule("every-second", start, start + timedelta(seconds=3))
    assert [h.get_result() for h in backfilled] == [
        f"ctx at 2026-01-01T00:00:0{n}+00:00" for n in (1, 2)
    ]
    again = client.backfill_schedule("every-second", start, start + timedelta(seconds=3))
    assert [h.workflow_id for h in again] == [h.workflow_id for h in backfilled]  # run once
    assert client.trigger_schedule("every-second").get_result().startswith("ctx at ")
    with pytest.raises(DBOSException, match="does not exist"):
        client.trigger_schedule("no-such-schedule")
    client.delete_schedule("every-second")
    assert client.list_schedules() == []


def test_queues_kept_in_the_database_from_a_client(worker: Worker, client: DBOSClient) -> None:
    worker()
    queue = client.register_queue("client-stored", global_concurrency=2)
    assert (queue.global_concurrency, queue.worker_concurrency) == (2, None)
    queue.set_global_concurrency(3)
    again = client.retrieve_queue("client-stored")
    assert again is not None and again.global_concurrency == 3
    assert [q.name for q in client.list_queues()] == ["client-stored"]
    with pytest.raises(DBOSException, match="from a client-bound Queue object"):
        queue.enqueue(lambda: None)
    # The application's process picks the stored queue up and runs what is enqueued on it.
    options: EnqueueOptions = {"workflow_name": "client.doubled", "queue_name": "client-stored"}
    assert client.enqueue(options, 3).get_result() == 12
    client.delete_queue("client-stored")
    assert client.retrieve_queue("client-stored") is None

    async def listed() -> list[str]:
        return [q.name for q in await client.list_queues_async()]

    assert asyncio.run(listed()) == []


def test_sync_queue_and_connection_calls_on_a_loop_thread_warn(
    client: DBOSClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        await client.check_connection_async()
        await client.register_queue_async("loop-queue", worker_concurrency=1)
        assert [q.name for q in await client.list_queues_async()] == ["loop-queue"]
        assert not caplog.records
        client.check_connection()
        assert [q.name for q in client.list_queues()] == ["loop-queue"]
        assert client.rename_application(None, "loop-app", adopt_unclaimed_rows=True)

    asyncio.run(body())
    # Without a launched DBOS the "dbos" logger also propagates to the root's capture.
    assert list(dict.fromkeys(caplog.messages)) == [
        f"Synchronous 'DBOSClient.{name}' was called from a running asyncio event loop. This "
        f"blocks the loop on a database round-trip. Use 'DBOSClient.{name}_async' instead."
        for name in ("check_connection", "list_queues", "rename_application")
    ]
