"""Postgres: a workflow's outcome is notified only while some session listens for
outcomes (``schema/outcome_listeners.py``), and a session that starts listening misses
none (its registration waits for the finishes already under way)."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy

from tests._pg import (
    database_url,
    drop_database,
    libpq_url,
    postgres_server_url,
    require_postgres,
)
from tests.store.test_sql_specific import wf
from transact._store.sql.dialects import postgres
from transact._store.sql.dialects.listener import Registration
from transact._store.sql.dialects.postgres import PostgresStore, open_postgres_store
from transact._store.sql.schema.outcome_listeners import (
    OUTCOME_LISTENERS,
    REGISTER,
    REGISTER_LOCK_TIMEOUT,
    UNREGISTER,
)
from transact._store.sql.verbs.notify import CHANNEL, OUTCOME_CHANNEL

pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> Iterator[str]:
    """A migrated Postgres database of its own (the table counts every session of it)."""
    require_postgres()
    name = f"transact_listeners_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    drop_database(name)
    made = database_url(postgres_server_url(), name)
    store = open_postgres_store(made)
    store.migrate()
    store.close()
    yield made
    drop_database(name)


@pytest.fixture
def writer(url: str) -> Iterator[PostgresStore]:
    store = open_postgres_store(url)
    assert isinstance(store, PostgresStore)
    yield store
    store.close()


class Ear:
    """A bare session listening on the outcome and the general channels, registered
    nowhere: it hears what finishes send, not what makes them send."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(libpq_url(url), autocommit=True)
        self.conn.execute(f"LISTEN {OUTCOME_CHANNEL}")
        self.conn.execute(f"LISTEN {CHANNEL}")

    def until(self, marker: str, timeout: float = 10.0) -> list[str]:
        """The payloads heard before ``marker`` (notifications come in commit order)."""
        heard: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for note in self.conn.notifies(timeout=0.1, stop_after=1):
                if note.payload == marker:
                    return heard
                heard.append(note.payload)
        raise AssertionError(f"no {marker!r} within {timeout} s; heard {heard}")


def _finish(store: PostgresStore, workflow_id: str) -> None:
    store.insert_workflow(wf(workflow_id))
    assert store.finish_workflow(workflow_id, status="SUCCESS", output="1", error=None, now_ms=2)


def _marker(store: PostgresStore, n: int) -> str:
    """Send a message (a notification every subscriber hears), committed after what
    came before it; return its key."""
    store.insert_workflow(wf(f"marker-{n}"))
    store.send_message(f"marker-{n}", None, "m", message_id=None, now_ms=1)
    return f"message:marker-{n}::"


def _registered(url: str) -> list[int]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return [r[0] for r in conn.execute(f"SELECT pid FROM {OUTCOME_LISTENERS} ORDER BY pid")]


def test_finishes_notify_only_while_a_session_listens(url: str, writer: PostgresStore) -> None:
    ear = Ear(url)
    try:
        _finish(writer, "nobody-listens")
        assert "status:nobody-listens" not in ear.until(_marker(writer, 1))

        listening = open_postgres_store(url)
        assert isinstance(listening, PostgresStore)
        heard: list[str] = []
        listening.subscribe(heard.append)
        listening.listen_for_outcomes()
        assert len(_registered(url)) == 1
        _finish(writer, "one-listens")
        assert "status:one-listens" in ear.until(_marker(writer, 2))
        deadline = time.monotonic() + 10
        while "status:one-listens" not in heard:
            assert time.monotonic() < deadline, heard
            time.sleep(0.01)

        listening.close()  # its session's row goes with it
        assert _registered(url) == []
        _finish(writer, "gone")
        assert "status:gone" not in ear.until(_marker(writer, 3))
    finally:
        ear.conn.close()


def test_a_registration_waits_for_the_finishes_under_way(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finish holds the table's share lock until it commits; the registration queues
    behind it, so the finish either commits first or sees the new listener. (Its lock
    timeout is lengthened here, so that the finish can be held open long enough to be
    seen waited for.)"""
    patient = tuple(
        s.replace(REGISTER_LOCK_TIMEOUT, "30s") if "lock_timeout" in s else s for s in REGISTER
    )
    assert patient != REGISTER
    monkeypatch.setattr(postgres, "OUTCOME_REGISTRATION", Registration(patient, UNREGISTER))
    reader = psycopg.connect(libpq_url(url))  # a transaction, as a finish in flight
    reader.execute(f"SELECT 1 FROM {OUTCOME_LISTENERS}")
    listening = open_postgres_store(url)
    assert isinstance(listening, PostgresStore)
    listening.subscribe(lambda key: None)
    done = threading.Event()

    def register() -> None:
        listening.listen_for_outcomes()
        done.set()

    thread = threading.Thread(target=register)
    try:
        thread.start()
        with psycopg.connect(libpq_url(url), autocommit=True) as watch:
            deadline = time.monotonic() + 10
            waiting = 0
            while waiting == 0:
                assert time.monotonic() < deadline, "the registration never asked for its lock"
                time.sleep(0.01)
                waiting = watch.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted "
                    "AND mode = 'AccessExclusiveLock' AND relation = %s::regclass",
                    [OUTCOME_LISTENERS],
                ).fetchone()[0]  # type: ignore[index]
        assert not done.is_set()
        reader.commit()  # the finish commits: the registration goes on
        thread.join(10)
        assert done.is_set()
        assert len(_registered(url)) == 1
    finally:
        reader.close()
        listening.close()


def test_a_long_reader_of_the_table_postpones_the_registration(
    url: str, writer: PostgresStore
) -> None:
    """A session reading the table for long (a pg_dump) is not waited for: the listener
    connects at once, finishes do not queue behind its registration, and it registers
    once the reader is done."""
    dump = psycopg.connect(libpq_url(url))
    dump.execute(f"SELECT 1 FROM {OUTCOME_LISTENERS}")  # held until it commits
    listening = open_postgres_store(url)
    assert isinstance(listening, PostgresStore)
    try:
        listening.subscribe(lambda key: None)
        started = time.monotonic()
        listening.listen_for_outcomes()
        assert time.monotonic() - started < 1.5  # under the 2 s it waits for a listener
        assert _registered(url) == []

        finished = threading.Event()

        def finish() -> None:
            _finish(writer, "meanwhile")
            finished.set()

        finisher = threading.Thread(target=finish)
        finisher.start()
        # Not queued behind a registration waiting for the dump's lock (the retries
        # each wait at most REGISTER_LOCK_TIMEOUT).
        assert finished.wait(5)
        finisher.join()

        dump.commit()
        deadline = time.monotonic() + 15
        while _registered(url) == []:
            assert time.monotonic() < deadline, "never registered after the reader was done"
            time.sleep(0.05)
    finally:
        dump.close()
        listening.close()


def test_registrations_drop_the_rows_of_sessions_that_are_gone(url: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        # A session that no longer exists (no server process has pid 0).
        conn.execute(f"INSERT INTO {OUTCOME_LISTENERS} VALUES (0, now())")
    listening = open_postgres_store(url)
    assert isinstance(listening, PostgresStore)
    try:
        listening.subscribe(lambda key: None)
        listening.listen_for_outcomes()
        [pid] = _registered(url)
        assert pid != 0

        # Its session killed, the listener reconnects and registers its new one.
        with psycopg.connect(libpq_url(postgres_server_url()), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 15
        # (The old row may outlive it briefly: a later registration deletes it.)
        while not set(_registered(url)) - {pid}:
            assert time.monotonic() < deadline, "no new registration after the reconnection"
            time.sleep(0.05)
    finally:
        listening.close()


def test_a_role_that_may_not_register_still_listens(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A role without the right to lock the table listens unregistered, with a warning,
    instead of retrying its connection for ever."""
    role = f"transact_reader_{uuid.uuid4().hex[:8]}"
    database = sqlalchemy.make_url(url).database
    with psycopg.connect(libpq_url(url), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"GRANT CONNECT ON DATABASE {database} TO {role}")
        admin.execute(f"GRANT USAGE ON SCHEMA transact TO {role}")
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA transact TO {role}")
    listening = open_postgres_store(sqlalchemy.make_url(url).set(username=role).render_as_string())
    assert isinstance(listening, PostgresStore)
    try:
        listening.subscribe(lambda key: None)
        with caplog.at_level(logging.WARNING):
            started = time.monotonic()
            listening.listen_for_outcomes()
            assert time.monotonic() - started < 5  # connected, not retrying
        assert "cannot register as an outcome listener" in caplog.text
        assert _registered(url) == []
    finally:
        listening.close()
        with psycopg.connect(libpq_url(url), autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")
