"""Batched writes on Postgres: concurrent checkpoints (and outcomes) of many workflows are
written by one statement, and each caller still gets its own outcome.

Batches are forced by blocking the first write from another connection (a row lock for
an outcome, an uncommitted clashing checkpoint for a checkpoint): the writes behind it
queue up for the next batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from tests._pg import libpq_url
from tests.store.batches import counted_batches as counted
from tests.store.batches import write_steps_at_once
from transact._core.checkpoint import Checkpoint
from transact._store.errors import CheckpointConflict, WorkflowNotPending
from transact._store.records import WorkflowRecord
from transact._store.sql.dialects.postgres import PostgresStore, open_postgres_store
from transact._store.sql.engine.backend import Backend
from transact._store.sql.engine.batching import Batch
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.verbs import checkpoints, workflows
from transact.errors import DBOSException

pytestmark = [pytest.mark.timeout(60), pytest.mark.postgres]


@pytest.fixture
def store(postgres_database_url: str) -> Iterator[PostgresStore]:
    opened = open_postgres_store(postgres_database_url)
    assert isinstance(opened, PostgresStore)
    opened.migrate()
    opened.reset()
    yield opened
    opened.close()


def add(store: PostgresStore, workflow_id: str, status: str = "PENDING") -> None:
    store.insert_workflow(WorkflowRecord(workflow_id=workflow_id, status=status, name="fn"))


def counted_batches(backend: Backend, batch: Batch) -> list[int]:
    """The sizes of the batches ``batch``'s queue commits from now on."""
    return counted(backend._batcher(batch))


class Blocker:
    """Another session's open transaction that makes one write wait until
    :meth:`release` rolls it back."""

    def __init__(self, url: str, sql: str, args: tuple[object, ...]) -> None:
        self._conn = psycopg.connect(libpq_url(url))
        self._conn.execute(sql, args)

    def release(self) -> None:
        self._conn.rollback()
        self._conn.close()


def row_lock(url: str, workflow_id: str) -> Blocker:
    """The workflow's row held ``FOR UPDATE``: its outcome's UPDATE waits."""
    sql = f"SELECT 1 FROM {POSTGRES_SCHEMA}.workflow_status WHERE workflow_uuid = %s FOR UPDATE"
    return Blocker(url, sql, (workflow_id,))


def clashing_checkpoint(url: str, workflow_id: str, function_id: int) -> Blocker:
    """An uncommitted checkpoint at the same position: an insert there waits to learn
    whether it clashes (and, once this one is rolled back, does not)."""
    sql = (
        f"INSERT INTO {POSTGRES_SCHEMA}.operation_outputs "
        "(workflow_uuid, function_id, function_name) VALUES (%s, %s, 'blocker')"
    )
    return Blocker(url, sql, (workflow_id, function_id))


def run_queued(calls: list[Callable[[], object]], lock: Blocker) -> dict[int, object]:
    """Start ``calls`` in order (the first waits on ``lock``, the others queue behind
    it), release the lock, and return each call's result or error."""
    outcomes: dict[int, object] = {}

    def run(i: int) -> None:
        time.sleep(0.05 * i)  # queue in order
        try:
            outcomes[i] = calls[i]()
        except BaseException as exc:  # CheckpointConflict is not an Exception
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    time.sleep(0.05 * len(calls) + 0.3)
    lock.release()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    return outcomes


def test_queued_checkpoints_are_one_statement_each_with_its_outcome(
    store: PostgresStore, postgres_database_url: str
) -> None:
    for workflow_id in ("w0", "w1", "w2", "w3", "w4"):
        add(store, workflow_id)
    add(store, "done", "SUCCESS")
    store.record_checkpoint("w0", Checkpoint(1, "step", output="first"))
    sizes = counted_batches(store.backend, checkpoints._BATCH_INSERT)

    def write(workflow_id: str, output: str | None, error: str | None = None) -> Any:
        checkpoint = Checkpoint(1, "step", output=output, error=error, started_at_epoch_ms=7)
        return lambda: store.record_checkpoint(workflow_id, checkpoint)

    lock = clashing_checkpoint(postgres_database_url, "w1", 1)
    outcomes = run_queued(
        [
            write("w1", "1"),  # leads, and waits on the uncommitted clash
            write("w2", "2"),  # the others queue behind it
            write("w0", "again"),  # a position already taken
            write("w3", None, error="boom"),  # NULLs in the arrays
            write("done", "late"),  # a finished workflow
            write("missing", "x"),  # no such workflow
            write("w4", "4"),
            write("w2", "2 again"),  # the same row twice in one batch
        ],
        lock,
    )
    assert sizes == [1, 7]
    assert [outcomes[i] for i in (0, 1, 3, 6)] == [None] * 4
    assert isinstance(outcomes[2], CheckpointConflict)
    assert isinstance(outcomes[4], WorkflowNotPending)
    assert isinstance(outcomes[5], DBOSException)
    assert isinstance(outcomes[7], CheckpointConflict)
    assert [c.output for c in store.load_checkpoints("w0")] == ["first"]
    assert [(c.output, c.error) for c in store.load_checkpoints("w3")] == [(None, "boom")]
    for workflow_id, output in (("w1", "1"), ("w2", "2"), ("w4", "4")):
        [stored] = store.load_checkpoints(workflow_id)
        assert (stored.output, stored.started_at_epoch_ms) == (output, 7)
    assert store.load_checkpoints("done") == []


def test_queued_outcomes_are_one_statement_and_notify_each_workflow(
    store: PostgresStore, postgres_database_url: str
) -> None:
    for workflow_id in ("w1", "w2", "w3"):
        add(store, workflow_id)
    add(store, "done", "SUCCESS")
    heard: list[str] = []
    store.subscribe(heard.append)
    store.listen_for_outcomes()
    sizes = counted_batches(store.backend, workflows._BATCH_FINISH)

    def finish(workflow_id: str, status: str, output: str | None) -> Callable[[], bool]:
        return lambda: store.finish_workflow(
            workflow_id,
            status=status,
            output=output,
            error=None if status == "SUCCESS" else "err",
            now_ms=42,
        )

    lock = row_lock(postgres_database_url, "w1")
    outcomes = run_queued(
        [
            finish("w1", "SUCCESS", "1"),  # leads, and waits on the row lock
            finish("w2", "SUCCESS", "2"),
            finish("done", "SUCCESS", "late"),  # not PENDING: nothing changes
            finish("w3", "ERROR", None),
            finish("w2", "ERROR", None),  # the same workflow twice: the first wins
        ],
        lock,
    )
    assert sizes == [1, 4]
    assert outcomes == {0: True, 1: True, 2: False, 3: True, 4: False}
    rows = {w: store.get_workflow(w) for w in ("w1", "w2", "w3", "done")}
    assert {w: (r.status, r.output, r.error) for w, r in rows.items() if r} == {
        "w1": ("SUCCESS", "1", None),
        "w2": ("SUCCESS", "2", None),
        "w3": ("ERROR", None, "err"),
        "done": ("SUCCESS", None, None),
    }
    assert rows["w3"] is not None and rows["w3"].completed_at == 42
    deadline = time.monotonic() + 5
    expected = {"status:w1", "status:w2", "status:w3"}
    while not expected <= set(heard) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert expected <= set(heard)
    assert "status:done" not in heard


def _queue_behind_a_lock(
    store: PostgresStore, postgres_database_url: str, batch: Batch
) -> dict[int, object]:
    """Three checkpoints: the first alone, the other two as one batch run with ``batch``."""
    for workflow_id in ("w0", "w1", "w2"):
        add(store, workflow_id)
    backend = store.backend
    sizes = counted_batches(backend, batch)

    def write(i: int) -> Callable[[], int]:
        params = checkpoints.checkpoint_params(f"w{i}", Checkpoint(1, "step", output=str(i)))
        context = checkpoints.checkpoint_error_context(f"w{i}", Checkpoint(1, "step"))
        stmt = checkpoints._INSERT_CHECKPOINT
        return lambda: backend.execute_one(stmt, params, context, batch=batch)

    blocker = clashing_checkpoint(postgres_database_url, "w0", 1)
    outcomes = run_queued([write(0), write(1), write(2)], blocker)
    assert sizes == [1, 2]
    return outcomes


def test_a_batch_the_server_refuses_runs_each_write_alone(
    store: PostgresStore, postgres_database_url: str
) -> None:
    refused = Batch("refused", "SELECT 1 / 0", params=(), key=("ck_wf",), retry_unwritten=True)
    outcomes = _queue_behind_a_lock(store, postgres_database_url, refused)
    assert outcomes == {0: 1, 1: 1, 2: 1}
    for i in range(3):
        assert [c.output for c in store.load_checkpoints(f"w{i}")] == [str(i)]


def test_a_batch_cut_off_with_its_connection_runs_each_write_again_in_doubt(
    store: PostgresStore, postgres_database_url: str
) -> None:
    # Its outcome is unknown: each write runs again alone, recognising a row the batch
    # did write, so every write succeeds exactly once.
    cut = Batch("cut", "SELECT pg_terminate_backend(pg_backend_pid())", (), ("ck_wf",), True)
    outcomes = _queue_behind_a_lock(store, postgres_database_url, cut)
    assert outcomes == {0: 1, 1: 1, 2: 1}
    for i in range(3):
        assert [c.output for c in store.load_checkpoints(f"w{i}")] == [str(i)]


def test_many_threads_write_through_batches(store: PostgresStore) -> None:
    threads, steps = 16, 25
    for i in range(threads):
        add(store, f"w{i}")
    sizes = counted_batches(store.backend, checkpoints._BATCH_INSERT)
    write_steps_at_once(store, threads, steps)
    assert sum(sizes) == threads * steps
