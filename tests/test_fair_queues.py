"""Fair shares of a global queue limit: a worker claims at most its share of the limit
among the live workers, so one fast poller cannot hold every slot."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests._pg import libpq_url
from transact._core.queue_policy import QueueCounts, QueueLimits, budget
from transact._store.factory import open_store
from transact._store.protocol import Store
from transact._store.records import WorkflowRecord
from transact._store.sql.verbs.queues import presence_key


def test_a_worker_takes_at_most_its_share_of_the_global_limit() -> None:
    limits = QueueLimits(concurrency=10)
    assert budget(limits, QueueCounts(workers=1)) == 10
    assert budget(limits, QueueCounts(workers=3)) == 4  # ceil(10 / 3): every slot usable
    assert budget(limits, QueueCounts(workers=3, local_running=4, pending=4)) == 0
    assert budget(limits, QueueCounts(workers=3, local_running=1, pending=9)) == 1  # the limit
    both = QueueLimits(concurrency=10, worker_concurrency=2)
    assert budget(both, QueueCounts(workers=2)) == 2


@pytest.fixture
def pg_store(postgres_database_url: str) -> Iterator[Store]:
    from tests.conftest import emptied

    store = open_store(emptied(postgres_database_url))
    try:
        yield store
    finally:
        store.close()


def hold_presence(url: str, queue_name: str = "q") -> psycopg.Connection[tuple[object, ...]]:
    """A session that counts as a live worker of ``queue_name`` (as the queue listener
    of a process serving it does)."""
    conn = psycopg.connect(libpq_url(url), autocommit=True)
    conn.execute("SELECT pg_advisory_lock_shared(%s, %s)", presence_key(queue_name))
    return conn


@pytest.mark.postgres
def test_claims_spread_over_the_live_workers(pg_store: Store, postgres_database_url: str) -> None:
    for i in range(30):
        pg_store.insert_workflow(
            WorkflowRecord(
                workflow_id=f"q{i:02}", status="ENQUEUED", name="n", queue_name="q", created_at=i
            )
        )

    def claim(executor: str, local_running: int) -> int:
        return len(
            pg_store.claim_queued(
                "q",
                executor_id=executor,
                application_version=None,
                limits=QueueLimits(concurrency=9),
                local_running=local_running,
                partition_key=None,
                max_claims=None,
                now_ms=1000,
            )
        )

    elsewhere = hold_presence(postgres_database_url, "another-queue")  # not a worker of q
    others = [hold_presence(postgres_database_url) for _ in range(3)]
    others.append(elsewhere)
    try:
        assert claim("a", 0) == 3  # 3 live workers: ceil(9 / 3) each
        assert claim("a", 3) == 0  # its share is taken; the free slots wait for the others
        assert claim("b", 0) == 3
        others.pop(0).close()  # a worker died: its session, and presence, are gone
        assert claim("c", 0) == 3  # 2 live workers: 5 each, 3 slots left under the limit
    finally:
        for conn in others:
            conn.close()
    assert claim("d", 0) == 0  # the global limit still holds (9 PENDING)


def live_workers(url: str, queue_name: str = "q") -> int:
    namespace, key = presence_key(queue_name)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid::bigint = %s AND objsubid = 2",
            (namespace, key & 0xFFFFFFFF),
        ).fetchone()
        return int(row[0]) if row else 0


@pytest.mark.postgres
def test_a_process_counts_as_a_live_worker_of_the_queues_it_serves(
    postgres_database_url: str,
) -> None:
    from tests.conftest import emptied
    from tests.waiting import wait_until

    url = emptied(postgres_database_url)
    before = {q: live_workers(url, q) for q in ("q", "other")}
    store = open_store(url)
    try:
        store.subscribe(lambda _key: None)
        listener = getattr(store, "listener", None)
        assert listener is not None and listener.wait_connected(10)
        assert live_workers(url) == before["q"]  # subscribed only, as a client is
        store.serve_queue("q")
        wait_until(lambda: live_workers(url) == before["q"] + 1)
        assert live_workers(url, "other") == before["other"]  # not a worker of "other"
        store.retire_queue("q")
        wait_until(lambda: live_workers(url) == before["q"])
        store.serve_queue("q")
        wait_until(lambda: live_workers(url) == before["q"] + 1)
    finally:
        store.close()
    wait_until(lambda: live_workers(url) == before["q"])


@pytest.mark.postgres
def test_a_client_takes_no_share_of_a_global_limit(postgres_database_url: str) -> None:
    """A ``DBOSClient`` listens from the start, but it never dequeues: a worker's share
    of a global limit is not cut by clients that enqueue."""
    from tests.conftest import emptied
    from transact import DBOSClient

    url = emptied(postgres_database_url)
    before = live_workers(url)
    client = DBOSClient(system_database_url=url)
    try:
        listener = getattr(client._connection.store, "listener", None)
        assert listener is not None and listener.wait_connected(10)
        client.enqueue({"queue_name": "nobody-serves-it", "workflow_name": "absent"})
        assert live_workers(url) == before
    finally:
        client.destroy()
