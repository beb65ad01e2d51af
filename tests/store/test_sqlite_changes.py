"""SQLite's cross-process notifications: the change log its triggers write and the
watcher thread that reads it (``schema/change_log.py``, ``dialects/change_watcher.py``).

Each test opens two stores on one file, as two processes would: one subscribes, the
other writes. (The same wake-up across real processes: ``test_communication_processes``.)
"""

from __future__ import annotations

import queue
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.test_sql_specific import wf
from transact._store.sql.dialects import change_watcher
from transact._store.sql.dialects.sqlite import SQLiteStore, open_sqlite_store
from transact._store.sql.schema.tables import INTERNAL_QUEUE_NAME

Heard = queue.Queue[str]


def _store(path: Path) -> SQLiteStore:
    store = open_sqlite_store(f"sqlite:///{path}")
    assert isinstance(store, SQLiteStore)
    return store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "sys.db"
    store = _store(path)
    store.migrate()
    store.close()
    return path


@pytest.fixture
def writer(db: Path) -> Iterator[SQLiteStore]:
    store = _store(db)
    yield store
    store.close()


@pytest.fixture
def heard(db: Path) -> Iterator[Heard]:
    """What a subscribed store on the same file hears."""
    listening = _store(db)
    keys: Heard = queue.Queue()
    assert listening.subscribe(keys.put) is True
    yield keys
    listening.close()


def _next(keys: Heard, timeout: float = 10.0) -> str:
    try:
        return keys.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"nothing heard within {timeout} s") from None


def _log(path: Path, *keys: str) -> None:
    """Log ``keys`` in one transaction, as a write's triggers would."""
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO transact_changes (key) VALUES (?)", [(k,) for k in keys])


def _log_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM transact_changes").fetchone()[0])


def test_every_write_another_process_may_wait_on_is_heard(
    writer: SQLiteStore, heard: Heard
) -> None:
    writer.insert_workflow(wf("dest"))
    writer.send_message("dest", "topic", "hi", message_id=None, now_ms=1)
    assert _next(heard) == "message:dest::topic"
    writer.send_message("dest", None, "hi", message_id=None, now_ms=1)
    assert _next(heard) == "message:dest::"
    writer.set_event("dest", "k", "v", 1, None)
    assert _next(heard) == "event:dest::k"
    writer.set_event("dest", "k", "again", 2, None)  # an update of the event's row
    assert _next(heard) == "event:dest::k"
    writer.write_stream("dest", "s", "v", 1, None)
    assert _next(heard) == "stream:dest::s"
    writer.finish_workflow("dest", status="SUCCESS", output=None, error=None, now_ms=2)
    assert _next(heard) == "status:dest"

    writer.insert_workflow(wf("doomed"))
    writer.cancel_workflows(["doomed"], now_ms=3)
    assert _next(heard) == "status:doomed"
    writer.resume_workflow("doomed", INTERNAL_QUEUE_NAME, now_ms=4)  # back on a queue
    assert {_next(heard), _next(heard)} == {"status:doomed", f"queue:{INTERNAL_QUEUE_NAME}"}

    writer.insert_workflow(wf("forked", "ENQUEUED", queue_name=INTERNAL_QUEUE_NAME))
    assert _next(heard) == f"queue:{INTERNAL_QUEUE_NAME}"


def test_user_queue_inserts_and_claims_are_not_logged(
    writer: SQLiteStore, heard: Heard, db: Path
) -> None:
    """SQLite's runners poll for other processes' enqueues (see ``change_log.py``), and
    nobody waits for a claim."""
    writer.insert_workflow(wf("queued", "ENQUEUED", queue_name="orders"))
    writer.publish(["queue:orders"])
    assert writer.claim_workflow("queued", "executor", None, now_ms=5) is not None
    _log(db, "queue:marker")
    assert _next(heard) == "queue:marker"


def test_an_unchanged_status_logs_nothing(writer: SQLiteStore, heard: Heard, db: Path) -> None:
    writer.insert_workflow(wf("same"))
    before = _log_size(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE workflow_status SET status = 'PENDING' WHERE workflow_uuid = 'same'")
    assert _log_size(db) == before


def test_a_write_is_heard_only_if_it_commits(db: Path, writer: SQLiteStore, heard: Heard) -> None:
    writer.insert_workflow(wf("kept"))
    writer.insert_workflow(wf("gone"))
    cancel = "UPDATE workflow_status SET status = 'CANCELLED' WHERE workflow_uuid = ?"
    conn = sqlite3.connect(db)
    try:
        conn.execute(cancel, ("gone",))
        conn.rollback()
        conn.execute(cancel, ("kept",))
        conn.commit()
    finally:
        conn.close()
    assert _next(heard) == "status:kept"


def test_changes_before_the_subscription_are_not_delivered(db: Path, writer: SQLiteStore) -> None:
    _log(db, "queue:old")
    listening = _store(db)
    keys: Heard = queue.Queue()
    try:
        listening.subscribe(keys.put)
        _log(db, "queue:new")
        assert _next(keys) == "queue:new"
    finally:
        listening.close()


def test_a_key_committed_many_times_at_once_is_delivered_once(db: Path, heard: Heard) -> None:
    _log(db, *["queue:burst"] * 50, "queue:after")  # one commit: read at once
    assert _next(heard) == "queue:burst"
    assert _next(heard) == "queue:after"


def test_a_failing_callback_does_not_stop_the_watcher(db: Path, writer: SQLiteStore) -> None:
    keys: Heard = queue.Queue()

    def fussy(key: str) -> None:
        if key == "queue:bad":
            raise RuntimeError("callback bug")
        keys.put(key)

    listening = _store(db)
    try:
        listening.subscribe(fussy)
        _log(db, "queue:bad")
        _log(db, "queue:good")
        assert _next(keys) == "queue:good"
    finally:
        listening.close()


def test_old_changes_are_pruned_and_numbering_goes_on(
    db: Path, writer: SQLiteStore, heard: Heard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(change_watcher, "KEEP_SECONDS", 0.2)
    _log(db, *(f"queue:{n}" for n in range(20)))
    assert [_next(heard) for _ in range(20)] == [f"queue:{n}" for n in range(20)]
    deadline = time.monotonic() + 10
    while _log_size(db) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _log_size(db) == 1  # the newest row stays, so no sequence number comes back
    _log(db, "queue:later")
    assert _next(heard) == "queue:later"
