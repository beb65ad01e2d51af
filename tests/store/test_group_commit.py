"""Group commit (SQLite): concurrent one-statement writes share transactions, and each
caller still gets its own outcome. ``GroupCommit`` is tested alone with a fake commit
function; then on a SQLite store, with batches forced by holding the write lock."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.store.batches import counted_batches as counted
from tests.store.batches import write_steps_at_once
from transact._core.checkpoint import Checkpoint
from transact._store.errors import CheckpointConflict, WorkflowNotPending
from transact._store.records import WorkflowRecord
from transact._store.sql.dialects.sqlite import SQLiteStore, open_sqlite_store
from transact._store.sql.engine.group_commit import GroupCommit, Write
from transact.errors import DBOSException

pytestmark = pytest.mark.timeout(60)


def run_threads(count: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()


# --- the queue alone -------------------------------------------------------------------


class SlowCommit:
    """A commit function that records its batches; the first one waits for ``release``."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.first_started = threading.Event()

    def __call__(self, batch: list[Write]) -> None:
        self.batches.append([write.raw for write in batch])
        if len(self.batches) == 1:
            self.first_started.set()
            self.release.wait(5)
        for write in batch:
            if write.raw.startswith("bad"):
                write.error = ValueError(write.raw)
            else:
                write.rowcount = len(write.raw)
            write.done = True


def test_writes_behind_a_commit_share_the_next_batch() -> None:
    commit = SlowCommit()
    group = GroupCommit(commit, max_batch=3)
    outcomes: dict[str, object] = {}

    def submit(name: str) -> None:
        try:
            outcomes[name] = group.submit(Write(name, None, None))
        except ValueError as exc:
            outcomes[name] = exc

    first = threading.Thread(target=submit, args=("first",))
    first.start()
    assert commit.first_started.wait(5)
    names = ["a", "bad1", "bb", "ccc", "dddd"]
    others = [threading.Thread(target=submit, args=(name,)) for name in names]
    for thread in others:
        thread.start()
        time.sleep(0.02)  # queue in this order
    commit.release.set()
    for thread in [first, *others]:
        thread.join(5)
    # The first commits alone; the rest in batches of at most 3, in arrival order.
    assert commit.batches == [["first"], ["a", "bad1", "bb"], ["ccc", "dddd"]]
    assert {k: v for k, v in outcomes.items() if not isinstance(v, Exception)} == {
        "first": 5,
        "a": 1,
        "bb": 2,
        "ccc": 3,
        "dddd": 4,
    }
    assert str(outcomes["bad1"]) == "bad1"  # only its own write fails


def test_a_commit_that_raises_fails_its_whole_batch_and_the_queue_goes_on() -> None:
    calls: list[int] = []

    def commit(batch: list[Write]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise KeyboardInterrupt  # interrupted before any outcome was set
        for write in batch:
            write.done = True

    group = GroupCommit(commit, max_batch=10)
    with pytest.raises(KeyboardInterrupt):
        group.submit(Write("x", None, None))
    write = Write("y", None, None)
    assert group.submit(write) == 0  # the next write leads a batch of its own
    assert calls == [1, 1]


def test_an_unfinished_write_is_reported_as_interrupted() -> None:
    def commit(batch: list[Write]) -> None:
        raise KeyboardInterrupt

    group = GroupCommit(commit, max_batch=10)
    write = Write("x", None, None)
    with pytest.raises(KeyboardInterrupt):
        group.submit(write)
    assert write.done
    assert isinstance(write.error, DBOSException)


# --- on SQLite -------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = open_sqlite_store(f"sqlite:///{tmp_path}/sys.sqlite")
    assert isinstance(opened, SQLiteStore)
    opened.migrate()
    yield opened
    opened.close()


def add(store: SQLiteStore, workflow_id: str, status: str = "PENDING") -> None:
    store.insert_workflow(WorkflowRecord(workflow_id=workflow_id, status=status, name="fn"))


def held_lock(store: SQLiteStore) -> sqlite3.Connection:
    """Another connection holding the write lock, so the store's writers queue up."""
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def counted_batches(store: SQLiteStore) -> list[int]:
    """The sizes of the batches the store's group commit writes from now on."""
    group = store.backend._group
    assert group is not None
    return counted(group)


def test_queued_checkpoints_commit_together_each_with_its_outcome(store: SQLiteStore) -> None:
    for workflow_id in ("w0", "w1", "w2", "w3", "w4"):
        add(store, workflow_id)
    add(store, "done", "SUCCESS")
    store.record_checkpoint("w0", Checkpoint(1, "step", output="first"))
    batches = counted_batches(store)
    writes: list[tuple[str, Checkpoint]] = [
        ("w1", Checkpoint(1, "step", output="1")),  # leads, and waits on the lock
        ("w2", Checkpoint(1, "step", output="2")),  # the others queue behind it
        ("w0", Checkpoint(1, "step", output="again")),  # a position already taken
        ("w3", Checkpoint(1, "step", output="3")),
        ("done", Checkpoint(1, "step", output="late")),  # a finished workflow
        ("w4", Checkpoint(1, "step", output="4")),
    ]
    outcomes: dict[int, object] = {}

    def write(i: int) -> None:
        time.sleep(0.05 * i)  # queue in order
        try:
            store.record_checkpoint(*writes[i])
            outcomes[i] = "ok"
        except BaseException as exc:  # CheckpointConflict is not an Exception
            outcomes[i] = exc

    holder = held_lock(store)
    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(writes))]
    for thread in threads:
        thread.start()
    time.sleep(0.05 * len(writes) + 0.3)
    holder.execute("COMMIT")
    holder.close()
    for thread in threads:
        thread.join(10)
    assert batches == [1, 5]
    assert [outcomes[i] for i in (0, 1, 3, 5)] == ["ok"] * 4
    assert isinstance(outcomes[2], CheckpointConflict)
    assert isinstance(outcomes[4], WorkflowNotPending)
    for workflow_id in ("w1", "w2", "w3", "w4"):
        [stored] = store.load_checkpoints(workflow_id)
        assert stored.output == workflow_id[1:]
    assert [c.output for c in store.load_checkpoints("w0")] == ["first"]
    assert store.load_checkpoints("done") == []


class _FailingConnection:
    """The writers' connection, whose ``statement`` (BEGIN IMMEDIATE or COMMIT) fails
    once. The store gives it back itself (``Backend.checkin``)."""

    def __init__(self, fairy: Any, statement: str, failures: list[str]) -> None:
        self._fairy = fairy
        self._statement = statement
        self._failures = failures
        self.dbapi_connection = self

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == self._statement and not self._failures:
            self._failures.append(sql)
            if sql == "COMMIT":
                self._fairy.dbapi_connection.execute("ROLLBACK")
            raise sqlite3.OperationalError("disk I/O error")
        return self._fairy.dbapi_connection.execute(sql, *args)

    def rollback(self) -> None:
        self._fairy.dbapi_connection.rollback()

    def close(self) -> None:
        """Nothing: the wrapped connection is the store's to give back."""


def batch_after_failure(store: SQLiteStore, statement: str) -> dict[int, object]:
    """Three checkpoint writes: the first alone, the other two as one batch whose
    ``statement`` fails; the outcome of each."""
    for workflow_id in ("w0", "w1", "w2"):
        add(store, workflow_id)
    batches = counted_batches(store)
    failures: list[str] = []
    outcomes: dict[int, object] = {}

    def write(i: int) -> None:
        time.sleep(0.05 * i)
        try:
            store.record_checkpoint(f"w{i}", Checkpoint(1, "step", output=str(i)))
            outcomes[i] = "ok"
        except Exception as exc:
            outcomes[i] = exc

    holder = held_lock(store)
    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.4)  # w0 leads and waits on the lock, w1 and w2 queue behind it
    backend = store.backend
    real_checkout = backend.checkout_writer
    backend.checkout_writer = lambda: _FailingConnection(  # type: ignore[method-assign]
        real_checkout(), statement, failures
    )
    try:
        holder.execute("COMMIT")
        holder.close()
        for thread in threads:
            thread.join(10)
    finally:
        backend.checkout_writer = real_checkout  # type: ignore[method-assign]
    assert batches == [1, 2] and failures == [statement]
    return outcomes


def test_a_batch_that_fails_before_its_commit_runs_each_write_alone(
    store: SQLiteStore,
) -> None:
    outcomes = batch_after_failure(store, "BEGIN IMMEDIATE")
    assert outcomes == {0: "ok", 1: "ok", 2: "ok"}
    for i in range(3):
        assert [c.output for c in store.load_checkpoints(f"w{i}")] == [str(i)]


def test_a_failed_commit_fails_every_write_of_its_batch(store: SQLiteStore) -> None:
    # Its outcome may be unknown, so no write is run again.
    outcomes = batch_after_failure(store, "COMMIT")
    assert outcomes[0] == "ok"
    for i in (1, 2):
        error = outcomes[i]
        assert isinstance(error, DBOSException) and "disk I/O error" in str(error)
        assert store.load_checkpoints(f"w{i}") == []


def test_many_threads_write_through_group_commit(store: SQLiteStore) -> None:
    threads, steps = 24, 30
    for i in range(threads):
        add(store, f"w{i}")
    batches = counted_batches(store)
    write_steps_at_once(store, threads, steps)
    assert sum(batches) == threads * steps
    assert max(batches) > 1  # writers did share commits


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_writes_although_a_parent_thread_held_the_write_lock(
    store: SQLiteStore,
) -> None:
    add(store, "w")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.backend._write_lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: the parent's holder thread does not exist here
        code = 1
        try:
            store.record_checkpoint("w", Checkpoint(1, "step", output="child"))
            store.set_event("w", "k", "v", 2, None)
            code = 0
        finally:
            os._exit(code)
    release.set()
    holder.join(5)
    deadline = time.monotonic() + 20
    while (ended := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if ended[0] == 0:  # stuck on the parent's lock: never leave it behind
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child could not write")
    assert os.waitstatus_to_exitcode(ended[1]) == 0
    assert [c.output for c in store.load_checkpoints("w")] == ["child"]
    assert store.get_event("w", "k") == "v"
