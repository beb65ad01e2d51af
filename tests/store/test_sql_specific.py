"""What only the SQL stores have: migrations, concurrency across threads and processes,
connection errors, database creation, LISTEN/NOTIFY, and the statement count of the hot
path. Behaviour shared with the memory store is in ``test_store_conformance.py``.

Postgres tests skip when no server answers, unless ``TRANSACT_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import bindparam, event, func, select, text

from tests._pg import (
    database_url,
    drop_database,
    libpq_url,
    postgres_server_url,
    require_postgres,
)
from transact._core.checkpoint import Checkpoint
from transact._store.errors import CheckpointConflict
from transact._store.records import WorkflowQuery, WorkflowRecord
from transact._store.sql.dialects.postgres import PostgresStore, open_postgres_store
from transact._store.sql.dialects.sqlite import SQLiteStore, open_sqlite_store
from transact._store.sql.engine.backend import Mode
from transact._store.sql.engine.raw import RawConnection
from transact._store.sql.schema.migrations import LATEST_VERSION, MIGRATIONS
from transact._store.sql.schema.tables import POSTGRES_SCHEMA, migrations_table, operation_outputs
from transact._store.sql.schema.unlocked_keys import CHECKPOINT_FOREIGN_KEY, STREAM_FOREIGN_KEY
from transact._store.sql.store import SQLStore
from transact._store.sql.verbs.checkpoints import checkpoint_error_context, write_checkpoint
from transact.errors import DBOSInitializationError, DBOSNonExistentWorkflowError

pytestmark = pytest.mark.timeout(120)


def wf(workflow_id: str, status: str = "PENDING", **fields: Any) -> WorkflowRecord:
    """A workflow row with test defaults."""
    fields.setdefault("name", "fn")
    fields.setdefault("created_at", 1000)
    fields.setdefault("updated_at", fields["created_at"])
    return WorkflowRecord(workflow_id=workflow_id, status=status, **fields)


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path}/sys.sqlite"


@pytest.fixture
def fresh_pg_database() -> Iterator[str]:
    """The URL of a Postgres database that does not exist yet; dropped afterwards."""
    require_postgres()
    name = f"transact_sqltest_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    drop_database(name)
    yield database_url(postgres_server_url(), name)
    drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """A fresh database URL of each SQL kind."""
    if request.param == "sqlite":
        return sqlite_url
    url: str = request.getfixturevalue("fresh_pg_database")
    return url


def _open(url: str) -> SQLStore:
    store = open_postgres_store(url) if url.startswith("postgres") else open_sqlite_store(url)
    assert isinstance(store, SQLStore)
    return store


@pytest.fixture
def sql_store(sql_url: str) -> Iterator[SQLStore]:
    """A migrated store on a fresh database of each SQL kind."""
    store = _open(sql_url)
    store.migrate()
    yield store
    store.close()


# --- migrations ------------------------------------------------------------------------


def _recorded_versions(store: SQLStore) -> list[int]:
    engine = store.backend.engine
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(migrations_table.c.version).order_by(migrations_table.c.version)
            ).scalars()
        )


def test_migrate_is_idempotent_and_recorded(sql_url: str) -> None:
    store = _open(sql_url)
    try:
        store.migrate()
        store.migrate()
        assert _recorded_versions(store) == [m.version for m in MIGRATIONS]
        assert _recorded_versions(store)[-1] == LATEST_VERSION
        # A second store on the same database migrates as a no-op and works.
        again = _open(sql_url)
        again.migrate()
        again.insert_workflow(wf("w"))
        again.close()
        assert _recorded_versions(store) == [m.version for m in MIGRATIONS]
        assert store.get_workflow("w") is not None
    finally:
        store.close()


def test_migration_10_adds_the_trace_context_column_once(sql_store: SQLStore) -> None:
    """A database migrated before migration 10 gets ``otel_context``; applying it again
    changes nothing."""
    engine = sql_store.backend.engine
    table = (
        "transact.workflow_status" if engine.dialect.name == "postgresql" else ("workflow_status")
    )
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} DROP COLUMN otel_context"))
    migration = next(m for m in MIGRATIONS if m.version == 10)
    for _ in range(2):
        with engine.begin() as conn:
            migration.apply(conn)
    sql_store.insert_workflow(wf("traced", otel_context='{"traceparent": "x"}'))
    stored = sql_store.get_workflow("traced")
    assert stored is not None and stored.otel_context == '{"traceparent": "x"}'


def test_migration_8_upgrades_a_database_made_before_it(sql_url: str) -> None:
    """Migration 8 adds the definition tables and the new columns to an older database,
    keeping its rows."""
    store = _open(sql_url)
    store.migrate()
    store.insert_workflow(wf("old"))
    pg = store.backend.engine.dialect.name == "postgresql"
    schema = f"{POSTGRES_SCHEMA}." if pg else ""
    with store.backend.engine.begin() as conn:  # back to the schema of version 7
        conn.exec_driver_sql(f"DROP INDEX {schema}idx_workflow_status_schedule_name")
        for column in ("schedule_name", "is_debounced", "debounce_deadline_epoch_ms"):
            conn.exec_driver_sql(f"ALTER TABLE {schema}workflow_status DROP COLUMN {column}")
        conn.exec_driver_sql(f"DROP TABLE {schema}queues")
        conn.exec_driver_sql(f"DROP TABLE {schema}workflow_schedules")
        conn.execute(migrations_table.delete().where(migrations_table.c.version == 8))
    store.close()
    store = _open(sql_url)
    try:
        store.migrate()
        assert 8 in _recorded_versions(store)
        old = store.get_workflow("old")
        assert old is not None and old.schedule_name is None and not old.is_debounced
        store.insert_workflow(wf("new", schedule_name="s"))
        assert [
            r.workflow_id for r in store.list_workflows(WorkflowQuery(schedule_names=("s",)))
        ] == ["new"]
        assert store.list_queues() == [] and store.list_schedules() == []
    finally:
        store.close()


def test_queue_indexes_hold_only_the_rows_they_serve(sql_store: SQLStore) -> None:
    """Migration 6: a direct start enters no queue index, an enqueue no start-time index."""
    engine = sql_store.backend.engine
    names = ("idx_workflow_status_queue_pending", "idx_workflow_status_queue_started")
    query = (
        "SELECT name, sql FROM sqlite_master WHERE name IN (:a, :b)"
        if engine.dialect.name == "sqlite"
        else "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN (:a, :b)"
    )
    with engine.connect() as conn:
        rows = conn.execute(text(query), {"a": names[0], "b": names[1]}).all()
    definitions = {name: " ".join(sql.split()).lower() for name, sql in rows}
    assert "queue_name is not null" in definitions[names[0]]
    assert "started_at_epoch_ms is not null" in definitions[names[1]]


def test_postgres_tables_live_in_the_transact_schema(fresh_pg_database: str) -> None:
    store = _open(fresh_pg_database)
    store.migrate()
    store.close()
    with psycopg.connect(libpq_url(fresh_pg_database)) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'transact'"
            )
        }
    assert {
        "workflow_status",
        "operation_outputs",
        "notifications",
        "workflow_events",
        "workflow_events_history",
        "streams",
        "transact_migrations",
    } <= tables


_MIGRATE_AND_WRITE = textwrap.dedent(
    """
    import sys, time
    from transact._store.factory import open_store
    from transact._store.records import WorkflowQuery, WorkflowRecord
    url, start, name = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    store = open_store(url)
    while time.time() < start:  # start together, to race for the migration
        time.sleep(0.001)
    store.migrate()
    store.insert_workflow(WorkflowRecord(workflow_id=name, status="PENDING", name="fn"))
    store.close()
    print("ok")
    """
)


def _run_together(code: str, url: str, count: int, *extra: str) -> list[str]:
    """Run ``code`` in ``count`` fresh interpreters that start its work at the same instant;
    return their outputs (each must exit 0)."""
    start = time.time() + 1.5  # enough for every interpreter to import transact
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, str(start), f"p{i}", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        outputs.append(out)
    return outputs


@pytest.mark.slow
def test_processes_migrating_a_fresh_database_at_once_all_succeed(sql_url: str) -> None:
    outputs = _run_together(_MIGRATE_AND_WRITE, sql_url, 4)
    assert all(out.strip() == "ok" for out in outputs)
    store = _open(sql_url)
    try:
        assert _recorded_versions(store) == [m.version for m in MIGRATIONS]
        assert {r.workflow_id for r in store.list_workflows(_all())} == {"p0", "p1", "p2", "p3"}
    finally:
        store.close()


def _all() -> WorkflowQuery:
    return WorkflowQuery()


# --- SQLite concurrency ----------------------------------------------------------------


def test_sqlite_many_threads_write_without_lock_errors(sqlite_url: str) -> None:
    store = open_sqlite_store(sqlite_url)
    store.migrate()
    store.insert_workflow(wf("shared"))
    threads, steps = 16, 40
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def run(i: int) -> None:
        try:
            barrier.wait()
            store.insert_workflow(wf(f"w{i}"))
            for step in range(1, steps + 1):
                store.record_checkpoint(f"w{i}", Checkpoint(step, "step", output=str(step)))
                # Writers of another shape interleave: a multi-statement transaction.
                if step % 10 == 0:
                    store.set_event(f"w{i}", "progress", str(step), step, None)
                    store.write_stream("shared", "s", f"{i}:{step}", 0, None)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    for i in range(threads):
        assert len(store.load_checkpoints(f"w{i}")) == steps
    # Every stream append got its own offset, with no gap.
    written = threads * (steps // 10)
    assert store.read_stream("shared", "s", written - 1).value is not None
    assert store.read_stream("shared", "s", written).value is None
    store.close()


def test_sqlite_single_statement_write_waits_for_the_lock(sqlite_url: str) -> None:
    """A one-statement verb (autocommit, no BEGIN IMMEDIATE) queues behind another
    connection's write transaction on the busy timeout instead of failing, and leaves
    no transaction open behind it, even when it fails."""
    store = open_sqlite_store(sqlite_url)
    store.migrate()
    store.insert_workflow(wf("w"))
    assert isinstance(store, SQLiteStore)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE workflow_status SET updated_at = 7 WHERE workflow_uuid = 'w'")
    done = threading.Event()

    def write() -> None:
        store.record_checkpoint("w", Checkpoint(1, "step", output="1"))
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not done.wait(0.3)  # blocked on the lock, not failed
    holder.execute("COMMIT")
    writer.join(10)
    assert done.is_set()
    with pytest.raises(CheckpointConflict):
        store.record_checkpoint("w", Checkpoint(1, "step", output="again"))
    # Neither the success nor the failure left a transaction (and its lock) open: the
    # other connection can take the write lock at once.
    holder.execute("PRAGMA busy_timeout=0")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("ROLLBACK")
    holder.close()
    assert [c.output for c in store.load_checkpoints("w")] == ["1"]
    store.close()


_WRITE_CHECKPOINTS = textwrap.dedent(
    """
    import sys, time
    from transact._core.checkpoint import Checkpoint
    from transact._store.factory import open_store
    from transact._store.records import WorkflowQuery, WorkflowRecord
    url, start, name, steps = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    store = open_store(url)
    store.insert_workflow(WorkflowRecord(workflow_id=name, status="PENDING", name="fn"))
    while time.time() < start:
        time.sleep(0.001)
    for step in range(1, steps + 1):
        store.record_checkpoint(name, Checkpoint(step, "step"))
        store.write_stream("shared", "s", name, step, None)
    store.close()
    print("ok")
    """
)


@pytest.mark.slow
def test_sqlite_processes_write_one_file_at_once(sqlite_url: str) -> None:
    store = open_sqlite_store(sqlite_url)
    store.migrate()
    store.insert_workflow(wf("shared"))
    _run_together(_WRITE_CHECKPOINTS, sqlite_url, 4, "50")
    for i in range(4):
        assert len(store.load_checkpoints(f"p{i}")) == 50
    assert store.read_stream("shared", "s", 199).value is not None
    assert store.read_stream("shared", "s", 200).value is None
    store.close()


def test_sqlite_rejects_in_memory_urls() -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        with pytest.raises(DBOSInitializationError, match="in-memory"):
            open_sqlite_store(url)


def test_sqlite_creates_missing_folders(tmp_path: Path) -> None:
    store = open_sqlite_store(f"sqlite:///{tmp_path}/a/b/sys.db")
    store.migrate()
    assert (tmp_path / "a" / "b" / "sys.db").exists()
    assert isinstance(store, SQLiteStore)
    store.close()


# --- the hot path ----------------------------------------------------------------------


@contextlib.contextmanager
def _statements_sent(store: SQLStore) -> Iterator[list[str]]:
    """The statements the driver sends while the block runs, as their first words (and,
    on Postgres, whether each ran in autocommit: one round trip with no BEGIN/COMMIT).

    Watched at the driver, below SQLAlchemy, because the hot path bypasses SQLAlchemy's
    execution layer."""
    seen: list[str] = []
    if store.backend.dialect_name == "sqlite":
        engine = store.backend.engine
        store.backend.dispose()  # new connections, so every one gets the trace callback

        def trace(statement: str) -> None:
            seen.append(" ".join(statement.split()[:2]).upper())

        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.set_trace_callback(trace)

        event.listen(engine, "connect", on_connect)
        try:
            yield seen
        finally:
            event.remove(engine, "connect", on_connect)
            store.backend.dispose()
        return

    original = psycopg.Cursor.execute

    def execute(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        word = str(query).split()[0].upper()
        seen.append(f"{word} autocommit={self.connection.autocommit}")
        return original(self, query, *args, **kwargs)

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        psycopg.Cursor.execute = original  # type: ignore[method-assign]


def test_hot_path_statement_counts(sql_store: SQLStore) -> None:
    """insert_workflow, record_checkpoint and finish_workflow send one statement each, in
    autocommit: on Postgres one round trip, on SQLite no BEGIN, COMMIT or ROLLBACK."""
    if sql_store.backend.dialect_name == "sqlite":
        # pysqlite's trace repeats a statement's text for each trigger it fires (the
        # change log's, which run inside the statement): count without them.
        with sqlite3.connect(sql_store.backend.url.database or "") as conn:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
                conn.execute(f"DROP TRIGGER {name}")
    sql_store.insert_workflow(wf("warm"))
    with _statements_sent(sql_store) as seen:
        sql_store.insert_workflow(wf("w"))
        sql_store.record_checkpoint("w", Checkpoint(1, "step", output="1"))
        sql_store.record_checkpoint("w", Checkpoint(2, "step", output="2"))
        sql_store.finish_workflow("w", status="SUCCESS", output="x", error=None, now_ms=5)
    if sql_store.backend.dialect_name == "sqlite":
        # Connection set-up (PRAGMAs) aside, each verb is its one statement: a writing
        # statement takes the write lock itself, as BEGIN IMMEDIATE would.
        verbs = [s for s in seen if not s.startswith("PRAGMA")]
        assert verbs == ["INSERT INTO", "INSERT INTO", "INSERT INTO", "UPDATE WORKFLOW_STATUS"]
    else:
        assert seen == [
            "WITH autocommit=True",  # the insert, with its clean-up of a reused id
            "INSERT autocommit=True",
            "INSERT autocommit=True",
            "UPDATE autocommit=True",
        ]


def test_a_stream_write_with_its_checkpoint_is_one_statement_on_postgres(
    sql_store: SQLStore,
) -> None:
    """The value and its checkpoint: one autocommit statement on Postgres (a
    data-modifying CTE); on SQLite an autocommit insert into a view whose trigger writes
    both rows, then a read of the offset (``schema/stream_appends.py``)."""
    sql_store.insert_workflow(wf("w"))
    sql_store.write_stream("w", "warm", "v", 1, Checkpoint(1, "DBOS.writeStream"))
    with _statements_sent(sql_store) as seen:
        offset = sql_store.write_stream("w", "s", "v", 2, Checkpoint(2, "DBOS.writeStream"))
    assert offset == 0
    assert [c.function_id for c in sql_store.load_checkpoints("w")] == [1, 2]
    if sql_store.backend.dialect_name == "sqlite":
        # (The trace repeats an insert's text per trigger program it runs.)
        verbs = [s for s in seen if not s.startswith("PRAGMA")]
        assert "BEGIN IMMEDIATE" not in verbs and "COMMIT" not in verbs
        writes = [s for s in verbs if not s.startswith("SELECT")]
        assert set(writes) == {"INSERT INTO"} and verbs[0] == "INSERT INTO"
        assert len(verbs) - len(writes) == 1  # the offset, read back
    else:
        assert seen == ["WITH autocommit=True"]


_COUNT = select(func.count()).where(operation_outputs.c.workflow_uuid == bindparam("wf"))


def test_run_raw_commits_all_of_its_work_or_nothing(sql_store: SQLStore) -> None:
    backend = sql_store.backend
    sql_store.insert_workflow(wf("w"))

    def write(*function_ids: int) -> Callable[[RawConnection], None]:
        def work(conn: RawConnection) -> None:
            for function_id in function_ids:
                write_checkpoint(conn, "w", Checkpoint(function_id, "step", output="out"))

        return work

    backend.run_raw(Mode.WRITE, write(1, 2))
    with pytest.raises(CheckpointConflict):  # the clash comes after a good write
        backend.run_raw(Mode.WRITE, write(3, 1), checkpoint_error_context("w", Checkpoint(1, "s")))

    def fail_after_writing(conn: RawConnection) -> None:
        write(4)(conn)
        raise RuntimeError("the verb's own error")

    with pytest.raises(RuntimeError, match="own error"):
        backend.run_raw(Mode.WRITE, fail_after_writing)
    assert [c.function_id for c in sql_store.load_checkpoints("w")] == [1, 2]
    read = backend.run_raw(Mode.READ, lambda conn: conn.execute(_COUNT, {"wf": "w"}).scalar())
    assert read == 2


# --- Postgres connections, creation, notifications -------------------------------------


def test_postgres_unreachable_names_url_without_password() -> None:
    store = open_postgres_store("postgresql://someone:s3cr3t-pw@127.0.0.1:1/transact_nowhere")
    assert isinstance(store, PostgresStore)
    store.backend.retry_delays = (0.01, 0.01)
    with pytest.raises(DBOSInitializationError) as caught:
        store.migrate()
    message = str(caught.value)
    assert "s3cr3t-pw" not in message
    assert "***" in message and "127.0.0.1:1" in message
    # Ordinary verbs fail the same way.
    with pytest.raises(DBOSInitializationError) as caught:
        store.get_workflow("w")
    assert "s3cr3t-pw" not in str(caught.value)
    store.close()


def test_postgres_url_forms_use_psycopg() -> None:
    for url in ("postgres://u@h/db", "postgresql://u@h/db", "postgresql+psycopg2://u@h/db"):
        store = open_postgres_store(url)
        assert isinstance(store, SQLStore)
        assert store.backend.url.drivername == "postgresql+psycopg"
        store.close()
    with pytest.raises(DBOSInitializationError, match="no database"):
        open_postgres_store("postgresql://u@h")


@pytest.mark.postgres
def test_postgres_pool_still_rolls_back_a_connection_left_in_a_transaction(
    fresh_pg_database: str,
) -> None:
    """The pool skips its reset-on-return rollback for connections in autocommit (the
    hot path), but not for one checked in with a transaction open."""
    store = _open(fresh_pg_database)
    store.migrate()
    engine = store.backend.engine
    fairy = engine.raw_connection()
    dbapi = fairy.dbapi_connection
    assert dbapi is not None and dbapi.autocommit
    dbapi.autocommit = False
    dbapi.execute(
        "INSERT INTO transact.workflow_status (workflow_uuid, status, name, created_at,"
        " updated_at) VALUES ('left', 'PENDING', 'fn', 1, 1)"
    )
    fairy.close()
    assert dbapi.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert store.get_workflow("left") is None
    store.close()


@pytest.mark.postgres
def test_postgres_creates_a_missing_database(fresh_pg_database: str) -> None:
    name = fresh_pg_database.rsplit("/", 1)[1]
    with psycopg.connect(libpq_url(postgres_server_url())) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None
        )
    store = open_postgres_store(fresh_pg_database)
    store.migrate()
    store.insert_workflow(wf("w"))
    assert store.get_workflow("w") is not None
    assert isinstance(store, PostgresStore)
    store.drop_database()
    with psycopg.connect(libpq_url(postgres_server_url())) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None
        )
    # migrate() brings it back.
    store.migrate()
    assert store.get_workflow("w") is None
    store.close()


def _until(received: queue.Queue[str], key: str, timeout: float = 10.0) -> list[str]:
    """The notifications received before ``key`` (which must come within ``timeout``)."""
    before: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = received.get(timeout=0.1)
        except queue.Empty:
            continue
        if got == key:
            return before
        before.append(got)
    raise AssertionError(f"no notification {key!r} within {timeout} s")


def _expect(received: queue.Queue[str], key: str, timeout: float = 10.0) -> None:
    _until(received, key, timeout)


@pytest.mark.postgres
def test_postgres_listener_hears_other_stores_and_reconnects(fresh_pg_database: str) -> None:
    listening = open_postgres_store(fresh_pg_database)
    writer = open_postgres_store(fresh_pg_database)
    assert isinstance(listening, PostgresStore)
    listening.migrate()
    received: queue.Queue[str] = queue.Queue()
    try:
        assert listening.subscribe(received.put) is True
        listener = listening.listener
        assert listener is not None and listener.wait_connected(10)

        writer.insert_workflow(wf("dest"))
        writer.send_message("dest", "topic", "hi", message_id=None, now_ms=1)
        _expect(received, "message:dest::topic")
        writer.send_message("dest", None, "hi", message_id=None, now_ms=1)
        _expect(received, "message:dest::")
        writer.set_event("dest", "k", "v", 1, None)
        _expect(received, "event:dest::k")
        writer.write_stream("dest", "s", "v", 1, None)
        _expect(received, "stream:dest::s")
        # Outcomes are on their own channel, heard only after listen_for_outcomes(): the
        # marker, committed after the outcome, arrives first.
        writer.insert_workflow(wf("unheard"))
        writer.finish_workflow("unheard", status="SUCCESS", output=None, error=None, now_ms=2)
        writer.send_message("dest", "marker", "hi", message_id=None, now_ms=1)
        assert "status:unheard" not in _until(received, "message:dest::marker")
        listening.listen_for_outcomes()
        writer.finish_workflow("dest", status="SUCCESS", output=None, error=None, now_ms=2)
        _expect(received, "status:dest")

        # Kill the listening session; the thread reconnects and hears writes again.
        pid = listener.backend_pid()
        assert pid is not None
        with psycopg.connect(libpq_url(postgres_server_url()), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 15
        while listener.connections < 2 or not listener.wait_connected(0.1):
            assert time.monotonic() < deadline, "the listener did not reconnect"
            time.sleep(0.05)
        writer.insert_workflow(wf("later"))
        writer.cancel_workflows(["later"], now_ms=3)
        _expect(received, "status:later")
    finally:
        writer.close()
        listening.close()
    assert listening.listener is None


@pytest.mark.postgres
def test_postgres_concurrent_stream_writers_get_distinct_offsets(fresh_pg_database: str) -> None:
    """Racing writers compute the same next offset; the losers retry on the primary key."""
    sql_store = _open(fresh_pg_database)
    sql_store.migrate()
    sql_store.insert_workflow(wf("w"))
    offsets: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        for _ in range(20):
            offset = sql_store.write_stream("w", "s", "v", 0, None)
            with lock:
                offsets.append(offset)

    pool = [threading.Thread(target=run) for _ in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    sql_store.close()
    assert sorted(offsets) == list(range(160))


def test_reset_keeps_the_schema(sql_store: SQLStore) -> None:
    sql_store.insert_workflow(wf("w"))
    sql_store.record_checkpoint("w", Checkpoint(1, "step"))
    sql_store.reset()
    assert sql_store.get_workflow("w") is None
    assert sql_store.load_checkpoints("w") == []
    assert _recorded_versions(sql_store) == [m.version for m in MIGRATIONS]
    sql_store.insert_workflow(wf("w"))
    with sql_store.backend.engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def _terminate_sessions(database: str) -> int:
    with psycopg.connect(libpq_url(postgres_server_url()), autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgres
def test_postgres_verbs_survive_the_server_ending_pooled_sessions(
    fresh_pg_database: str,
) -> None:
    """After a restart (here: every session terminated), the pool's connections are dead;
    the next verbs retry on fresh ones instead of failing."""
    store = _open(fresh_pg_database)
    store.migrate()
    store.insert_workflow(wf("w"))
    pool = [threading.Thread(target=store.get_workflow, args=("w",)) for _ in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    name = fresh_pg_database.rsplit("/", 1)[1]
    try:
        assert _terminate_sessions(name) >= 1
        store.record_checkpoint("w", Checkpoint(1, "step"))  # the raw hot path
        assert _terminate_sessions(name) >= 1
        store.set_event("w", "k", "v", 2, None)  # one statement with its notification
        assert _terminate_sessions(name) >= 1
        assert store.get_event("w", "k") == "v"  # a read
        assert _terminate_sessions(name) >= 1
        store.backend.run_raw(  # a raw multi-statement transaction
            Mode.WRITE, lambda conn: write_checkpoint(conn, "w", Checkpoint(3, "step"))
        )
        assert [c.function_id for c in store.load_checkpoints("w")] == [1, 3]
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_checkpoints_and_values_have_no_foreign_key_and_a_reused_id_starts_clean(
    fresh_pg_database: str,
) -> None:
    store = _open(fresh_pg_database)
    store.migrate()
    try:
        with store.backend.engine.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM pg_constraint WHERE conname IN (:a, :b)"),
                {"a": CHECKPOINT_FOREIGN_KEY, "b": STREAM_FOREIGN_KEY},
            ).scalar()
        assert found == 0  # migrations 5 and 14: a write takes no lock on its workflow's row
        store.insert_workflow(wf("w"))
        store.record_checkpoint("w", Checkpoint(1, "step", output="old"))
        store.write_stream("w", "s", "old", 2, Checkpoint(2, "DBOS.writeStream"))
        # What writes committing while their workflow was deleted leave behind.
        with store.backend.engine.connect() as conn:
            conn.execute(
                text(f"DELETE FROM {POSTGRES_SCHEMA}.workflow_status WHERE workflow_uuid = 'w'")
            )
        assert [c.output for c in store.load_checkpoints("w")] == ["old", None]
        assert store.insert_workflow(wf("w"))[1] is True
        assert store.load_checkpoints("w") == []  # the new workflow does not replay it
        assert store.read_stream("w", "s", 0).value is None  # nor read its values
        store.record_checkpoint("w", Checkpoint(1, "step", output="new"))
        assert store.write_stream("w", "s", "new", 2, Checkpoint(2, "DBOS.writeStream")) == 0
        assert store.insert_workflow(wf("w"))[1] is False  # attaching keeps the log
        assert [c.output for c in store.load_checkpoints("w")] == ["new", None]
        assert store.read_stream("w", "s", 0).value == "new"
        store.delete_workflows(["w"])
        assert store.load_checkpoints("w") == []
        with store.backend.engine.connect() as conn:
            left = conn.execute(text(f"SELECT count(*) FROM {POSTGRES_SCHEMA}.streams")).scalar()
        assert left == 0  # deleted with the workflow, without a cascade
        # A value written outside workflow code (in a step) still needs its workflow.
        with pytest.raises(DBOSNonExistentWorkflowError):
            store.write_stream("w", "s", "late", 3, None)
    finally:
        store.close()


# --- opt-in lower durability -------------------------------------------------------------


def assert_works_with_setting(url: str, setting_sql: str, expected: object) -> None:
    """The store on ``url`` writes and reads, and its connections have the setting."""
    store = _open(url)
    try:
        store.migrate()
        store.insert_workflow(wf("w1"))
        store.record_checkpoint("w1", Checkpoint(1, "step", output="out"))
        assert [c.output for c in store.load_checkpoints("w1")] == ["out"]
        with store.backend.engine.connect() as conn:
            assert conn.exec_driver_sql(setting_sql).scalar() == expected
    finally:
        store.close()


@pytest.mark.parametrize(
    ("query", "level"),
    [("", 2), ("?synchronous=normal", 1), ("?synchronous=FULL", 2)],
    ids=["default-full", "normal", "full"],
)
def test_sqlite_durability_level_comes_from_the_url(
    sqlite_url: str, query: str, level: int
) -> None:
    assert_works_with_setting(sqlite_url + query, "PRAGMA synchronous", level)


def test_sqlite_rejects_an_unknown_durability_level(sqlite_url: str) -> None:
    with pytest.raises(DBOSInitializationError, match="synchronous must be one of full, normal"):
        open_sqlite_store(sqlite_url + "?synchronous=off")


@pytest.mark.postgres
def test_postgres_lower_durability_through_libpq_options(fresh_pg_database: str) -> None:
    # Documented in docs/operations.md: libpq's ``options`` reach every connection.
    url = fresh_pg_database + "?options=-c%20synchronous_commit%3Doff"
    assert_works_with_setting(url, "SHOW synchronous_commit", "off")
