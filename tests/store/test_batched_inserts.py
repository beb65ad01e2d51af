"""Postgres: concurrent inserts of fresh workflow ids (starts and enqueues from many
threads) are written by one statement, and each caller still gets its own outcome:
created, attached to the row its id already names, or refused for its deduplication id.

The first insert is made to wait on another session's uncommitted insert of the same id;
the inserts behind it queue up for the next batch (``test_batching.py``'s method).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest

from tests._pg import libpq_url
from tests.faults import FaultProxy
from tests.store.test_batching import Blocker, counted_batches, run_queued, store
from transact._store.records import WorkflowRecord
from transact._store.sql.dialects.postgres import PostgresStore, open_postgres_store
from transact._store.sql.engine.connections import Write
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.verbs.notify import QUEUE_CHANNEL
from transact._store.sql.verbs.workflow_insert import batched_insert, insert_or_attach
from transact._store.sql.verbs.workflow_rows import record_values
from transact.errors import DBOSQueueDeduplicatedError

pytestmark = [pytest.mark.timeout(60), pytest.mark.postgres]

__all__ = ["store"]  # the fixture, shared with test_batching.py


def _row(workflow_id: str, **fields: object) -> WorkflowRecord:
    return WorkflowRecord(
        workflow_id=workflow_id,
        status="ENQUEUED" if "queue_name" in fields else "PENDING",
        name="fn",
        created_at=5,
        updated_at=5,
        **fields,  # type: ignore[arg-type]
    )


def _uncommitted(url: str, workflow_id: str) -> Blocker:
    """Another session's uncommitted row with this id: an insert of it waits to learn
    whether it clashes (and, once this one is rolled back, does not)."""
    sql = (
        f"INSERT INTO {POSTGRES_SCHEMA}.workflow_status "
        "(workflow_uuid, status, name, created_at, updated_at) VALUES (%s, 'PENDING', 'x', 1, 1)"
    )
    return Blocker(url, sql, (workflow_id,))


def _insert(
    store: PostgresStore, record: WorkflowRecord, announce: bool = False
) -> Callable[[], object]:
    return lambda: store.insert_workflow(record, fresh_id=True, announce=announce)


def test_queued_inserts_are_one_statement_each_with_its_outcome(
    store: PostgresStore, postgres_database_url: str
) -> None:
    old = _row("old", executor_id="elsewhere")
    store.insert_workflow(old)
    sizes = counted_batches(store.backend, batched_insert(announce=False))
    rows = [
        _row("first"),  # leads, and waits on the uncommitted row
        _row("a", inputs="in-a", priority=3),
        _row("old"),  # its id exists: it attaches to the stored row
        _row("b", queue_name="q", deduplication_id="k", is_debounced=True),  # NULLs, bools
        _row("c", workflow_deadline_epoch_ms=99),
    ]
    outcomes = run_queued(
        [_insert(store, r) for r in rows], _uncommitted(postgres_database_url, "first")
    )
    assert sizes == [1, 4]
    assert [outcomes[i] for i in (0, 1, 3, 4)] == [(rows[i], True) for i in (0, 1, 3, 4)]
    assert outcomes[2] == (old, False)
    for record in (*rows[:2], *rows[3:]):
        assert store.get_workflow(record.workflow_id) == record
    assert store.get_workflow("old") == old


def test_a_held_deduplication_id_in_a_batch_refuses_only_its_insert(
    store: PostgresStore, postgres_database_url: str
) -> None:
    store.insert_workflow(_row("holder", queue_name="q", deduplication_id="k"))
    sizes = counted_batches(store.backend, batched_insert(announce=False))
    rows = [
        _row("first"),
        _row("a"),
        _row("clash", queue_name="q", deduplication_id="k"),
        _row("b", queue_name="q", deduplication_id="other"),
    ]
    outcomes = run_queued(
        [_insert(store, r) for r in rows], _uncommitted(postgres_database_url, "first")
    )
    assert sizes == [1, 3]  # the batch is refused by the index; each then runs alone
    assert isinstance(outcomes[2], DBOSQueueDeduplicatedError)
    assert [outcomes[i] for i in (0, 1, 3)] == [(rows[i], True) for i in (0, 1, 3)]
    assert store.get_workflow("clash") is None


def test_an_announced_batch_announces_each_enqueue_on_the_queue_channel(
    store: PostgresStore, postgres_database_url: str
) -> None:
    with psycopg.connect(libpq_url(postgres_database_url), autocommit=True) as ear:
        ear.execute(f"LISTEN {QUEUE_CHANNEL}")
        sizes = counted_batches(store.backend, batched_insert(announce=True))
        rows = [
            _row("first", queue_name="q0"),
            _row("a", queue_name="q1"),
            _row("b", queue_name="q2"),
        ]
        outcomes = run_queued(
            [_insert(store, r, announce=True) for r in rows],
            _uncommitted(postgres_database_url, "first"),
        )
        assert sizes == [1, 2]
        assert outcomes == {i: (r, True) for i, r in enumerate(rows)}
        heard: list[str] = []
        deadline = time.monotonic() + 5
        while len(heard) < 3 and time.monotonic() < deadline:
            heard += [n.payload for n in ear.notifies(timeout=0.1, stop_after=3 - len(heard))]
        assert sorted(heard) == ["queue:q0", "queue:q1", "queue:q2"]


def test_an_insert_whose_batch_was_cut_off_is_settled_before_it_runs_again(
    store: PostgresStore,
) -> None:
    """A batch that lost its connection may have committed: each of its inserts asks
    whether the stored row is its own before running again (an insert run again would
    find the row and report an attach to someone else's workflow)."""
    record = _row("in-doubt", executor_id="me")
    store.insert_workflow(record)  # as the cut-off batch may have written it
    backend = store.backend
    statement = insert_or_attach("postgresql", fresh_id=True)
    raw = backend._compiled(statement, record_values(record))

    def undone(settle: Callable[[], int] | None) -> int:
        write = Write(raw, raw.args(record_values(record)), None, settle)
        write.in_doubt = True
        backend._write_undone([write])
        return write.outcome()

    assert undone(lambda: store._own(record)) == 1  # its own: created
    assert undone(None) == 0  # without settling, it would attach
    other = _row("in-doubt", executor_id="someone else")
    assert undone(lambda: store._own(other)) == 0  # not its own: it runs, and attaches


@pytest.mark.parametrize("after_reply", [True, False], ids=["in-doubt", "not-sent"])
def test_a_lone_insert_of_a_fresh_id_that_lost_its_connection_is_created_once(
    postgres_database_url: str, after_reply: bool
) -> None:
    """Alone (no batch forms), an insert whose connection dropped after the server
    committed it is settled as its own, not reported as an attach to an existing row;
    one that never reached the server is run again."""
    proxy = FaultProxy()
    proxied = open_postgres_store(proxy.url(postgres_database_url))
    assert isinstance(proxied, PostgresStore)
    try:
        proxied.migrate()
        proxied.reset()
        proxied.insert_workflow(_row("warm-up"), fresh_id=True)
        record = _row("cut", executor_id="me")
        proxy.arm(
            lambda _n, sql: f"INSERT INTO {POSTGRES_SCHEMA}.workflow_status" in sql,
            after_reply=after_reply,
        )
        assert proxied.insert_workflow(record, fresh_id=True) == (record, True)
        assert proxy.dropped  # the cut did happen
        assert proxied.get_workflow("cut") == record
    finally:
        proxied.close()
        proxy.close()
