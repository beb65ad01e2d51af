"""``DBOSClient``'s writes on the caller's own SQLAlchemy transaction (enqueue, send,
send_bulk, and their async twins), against an application in another process, on
SQLite and Postgres: what the caller commits runs, what it rolls back never existed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from tests.test_client import Worker, client, worker
from tests.test_queues import Heard
from tests.waiting import wait_until
from transact import DBOSClient, EnqueueOptions, SendMessage, WorkflowSerializationFormat
from transact.errors import (
    DBOSConflictingWorkflowError,
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSQueueDeduplicatedError,
)

__all__ = ["client", "worker"]  # the fixtures, shared with the client's other tests

pytestmark = pytest.mark.slow

DOUBLED: EnqueueOptions = {"workflow_name": "client.doubled", "queue_name": "client-queue"}


def _driver_url(url: str, *, asynchronous: bool) -> str:
    """The system database's URL for the caller's own engine (psycopg 3 on Postgres)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite" if asynchronous else "sqlite"))
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


@pytest.fixture
def engine(client: DBOSClient, durable_database_url: str) -> Iterator[Engine]:
    """The caller's engine on the system database, with a table of its own."""
    made = create_engine(_driver_url(durable_database_url, asynchronous=False))
    with made.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS caller_orders"))
        conn.execute(text("CREATE TABLE caller_orders (id TEXT PRIMARY KEY)"))
    yield made
    made.dispose()


def _orders(conn: Connection) -> list[str]:
    return list(conn.execute(text("SELECT id FROM caller_orders ORDER BY id")).scalars())


def test_enqueue_runs_what_commits_and_nothing_that_rolls_back(
    worker: Worker, client: DBOSClient, engine: Engine
) -> None:
    worker()
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(text("INSERT INTO caller_orders VALUES ('rolled-back')"))
        client.enqueue_in_transaction(conn, {**DOUBLED, "workflow_id": "tx-never"}, 1)
        tx.rollback()
    with engine.connect() as conn, conn.begin():
        conn.execute(text("INSERT INTO caller_orders VALUES ('order-1')"))
        handle = client.enqueue_in_transaction(conn, {**DOUBLED, "workflow_id": "tx-1"}, 5)
        # Not visible to anyone else (the worker included) before the commit.
        assert client.get_workflow_status("tx-1") is None
    assert handle.get_result() == 20
    with Session(engine) as session, session.begin():
        queued = client.enqueue_in_transaction(session, {**DOUBLED, "workflow_id": "tx-2"}, 6)
    assert queued.get_result() == 24
    with engine.connect() as conn, conn.begin():  # an id the client generates
        generated = client.enqueue_in_transaction(conn, DOUBLED, 7)
    assert generated.get_result() == 28
    time.sleep(0.5)  # a rolled-back row would have been claimed by now
    assert client.get_workflow_status("tx-never") is None
    with engine.connect() as conn:
        assert _orders(conn) == ["order-1"]


def test_an_enqueue_wakes_the_queues_runners_when_it_commits(
    client: DBOSClient, engine: Engine, durable_database_url: str
) -> None:
    """Postgres: the enqueue's own insert notifies the processes serving queues, once its
    transaction commits and not before; a rolled-back enqueue wakes nobody. (SQLite's
    runners find the row at their poll.)"""
    if not durable_database_url.startswith("postgres"):
        pytest.skip("SQLite's queue runners poll for other processes' enqueues")
    heard = Heard(durable_database_url)
    key = f"queue:{DOUBLED['queue_name']}"
    try:
        with engine.connect() as conn, conn.begin() as tx:
            client.enqueue_in_transaction(conn, {**DOUBLED, "workflow_id": "tx-dropped"}, 1)
            tx.rollback()
        with engine.connect() as conn, conn.begin():
            client.enqueue_in_transaction(conn, {**DOUBLED, "workflow_id": "tx-heard"}, 1)
            time.sleep(0.2)
            assert heard.count(key) == 0  # not before the commit
        assert heard.wait(key) == 1
        time.sleep(0.2)
        assert heard.count(key) == 1  # the rolled-back enqueue sent nothing
    finally:
        heard.store.close()


def test_enqueue_errors_leave_the_callers_transaction_usable(
    worker: Worker, client: DBOSClient, engine: Engine
) -> None:
    worker()
    held: EnqueueOptions = {**DOUBLED, "deduplication_id": "once", "delay_seconds": 3600}
    with engine.connect() as conn, conn.begin():
        first = client.enqueue_in_transaction(conn, held, 1)
    with engine.connect() as conn, conn.begin():
        conn.execute(text("INSERT INTO caller_orders VALUES ('kept')"))
        with pytest.raises(DBOSQueueDeduplicatedError):
            client.enqueue_in_transaction(conn, held, 2)
        conn.execute(text("INSERT INTO caller_orders VALUES ('after')"))
        with pytest.raises(DBOSException, match="Invalid priority 0"):
            client.enqueue_in_transaction(conn, {**held, "priority": 0})
        with pytest.raises(DBOSException, match="'return-existing' is not supported by enqueue_in"):
            client.enqueue_in_transaction(conn, {**held, "duplication_policy": "return-existing"})
        with pytest.raises(DBOSConflictingWorkflowError):
            other: EnqueueOptions = {**DOUBLED, "workflow_name": "client.other"}
            client.enqueue_in_transaction(conn, {**other, "workflow_id": first.workflow_id})
        # The same id and workflow attaches to the existing row.
        again = client.enqueue_in_transaction(conn, {**DOUBLED, "workflow_id": first.workflow_id})
        assert again.workflow_id == first.workflow_id
        with pytest.raises(DBOSException, match="Expected a SQLAlchemy Connection or Session"):
            client.enqueue_in_transaction("not a connection", DOUBLED, 1)
    with engine.connect() as conn:
        assert _orders(conn) == ["after", "kept"]
    assert client.get_workflow_status(first.workflow_id).status == "DELAYED"  # type: ignore[union-attr]
    assert len(client.list_workflows(name="client.doubled")) == 1


def test_send_and_send_bulk_deliver_on_commit(
    worker: Worker, client: DBOSClient, engine: Engine
) -> None:
    worker("waiter:tx-wait", "conversation:tx-conv")
    wait_until(lambda: len(client.list_workflow_steps("tx-wait")) >= 1)
    with engine.connect() as conn, conn.begin() as tx:
        client.send_in_transaction(conn, "tx-wait", "never", "go")
        tx.rollback()
    with engine.connect() as conn, conn.begin():
        client.send_in_transaction(conn, "tx-wait", "now", "go", "key-1")
        # The same idempotency key again in the same transaction: nothing more.
        client.send_in_transaction(conn, "tx-wait", "twice", "go", "key-1")
    assert client.retrieve_workflow("tx-wait").get_result() == "went now"
    with engine.connect() as conn, conn.begin():
        with pytest.raises(DBOSNonExistentWorkflowError, match="nowhere"):
            client.send_in_transaction(conn, "nowhere", "lost")
        with pytest.raises(DBOSNonExistentWorkflowError, match="nowhere"):
            client.send_bulk_in_transaction(
                conn, [SendMessage("tx-conv", "x", "in"), SendMessage("nowhere", "y")]
            )
        client.send_bulk_in_transaction(
            conn, [SendMessage("tx-conv", "one", "in"), SendMessage("tx-conv", "two", "in")]
        )
        conn.execute(text("INSERT INTO caller_orders VALUES ('sent')"))
    assert client.retrieve_workflow("tx-conv").get_result() == "hello: one, two"
    with engine.connect() as conn:
        assert _orders(conn) == ["sent"]


def test_the_async_twins_on_asyncio_connections_and_sessions(
    worker: Worker, client: DBOSClient, engine: Engine, durable_database_url: str
) -> None:
    worker("waiter:tx-async-wait")
    wait_until(lambda: len(client.list_workflow_steps("tx-async-wait")) >= 1)

    async def drive(made: AsyncEngine) -> None:
        async with made.connect() as conn, conn.begin():
            handle = await client.enqueue_in_transaction_async(
                conn, {**DOUBLED, "workflow_id": "tx-async"}, 7
            )
            await client.send_in_transaction_async(conn, "tx-async-wait", "async", "go")
        assert await handle.get_result() == 28
        async with AsyncSession(made) as session, session.begin():
            await client.send_bulk_in_transaction_async(
                session, [SendMessage("tx-async-wait", "ignored", "other")]
            )
        # A synchronous connection is used from a worker thread.
        with engine.connect() as sync_conn, sync_conn.begin():
            sync_handle = await client.enqueue_in_transaction_async(
                sync_conn, {**DOUBLED, "workflow_id": "tx-thread"}, 8
            )
        assert await sync_handle.get_result() == 32
        await made.dispose()

    asyncio.run(drive(create_async_engine(_driver_url(durable_database_url, asynchronous=True))))
    assert client.retrieve_workflow("tx-async-wait").get_result() == "went async"


def test_sends_reach_the_forks_of_their_destination(
    worker: Worker, client: DBOSClient, engine: Engine
) -> None:
    worker("waiter:fw-1", "waiter:fw-2")
    for original in ("fw-1", "fw-2"):
        wait_until(lambda: len(client.list_workflow_steps(original)) >= 1)  # noqa: B023
        client.fork_workflow(original, 2, forked_workflow_id=f"{original}-fork")
    with engine.connect() as conn, conn.begin():
        client.send_in_transaction(conn, "fw-1", "tx", "go", send_to_forks=True)
    client.send(
        "fw-2",
        "plain",
        "go",
        serialization_type=WorkflowSerializationFormat.PORTABLE,
        send_to_forks=True,
    )
    for workflow_id, word in (("fw-1", "tx"), ("fw-2", "plain")):
        assert client.retrieve_workflow(workflow_id).get_result() == f"went {word}"
        assert client.retrieve_workflow(f"{workflow_id}-fork").get_result() == f"went {word}"
