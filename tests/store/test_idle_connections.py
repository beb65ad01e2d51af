"""The idle-connection shelf (``engine/idle.py``): one-statement calls on Postgres reuse a
few connections kept out of the pool, never one left in a transaction, and never one
the server dropped."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text

from tests._pg import libpq_url
from transact._store.records import WorkflowRecord
from transact._store.sql.dialects.postgres import PostgresStore, open_postgres_store
from transact._store.sql.engine.attempts import Outage
from transact._store.sql.engine.backend import Backend
from transact._store.sql.engine.idle import IdleConnections, shelf_capacity
from transact._store.sql.engine.modes import Mode


class FakeFairy:
    def __init__(self, clean: bool = True) -> None:
        self.dbapi_connection = clean
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_the_shelf_keeps_clean_connections_up_to_its_capacity_last_in_first_out() -> None:
    shelf = IdleConnections(2, bool)
    first, second, third, dirty = FakeFairy(), FakeFairy(), FakeFairy(), FakeFairy(clean=False)
    assert not shelf.give(dirty)
    assert shelf.give(first) and shelf.give(second)
    assert not shelf.give(third)  # full
    assert shelf.take() is second and shelf.take() is first
    assert shelf.take() is None
    shelf.give(first)
    shelf.close_all()
    assert first.closed and len(shelf) == 0


def test_after_a_fork_the_shelf_forgets_its_connections_without_closing_them() -> None:
    shelf = IdleConnections(2, bool)
    fairy = FakeFairy()
    shelf.give(fairy)
    shelf.forget()
    assert shelf.take() is None and not fairy.closed


@pytest.mark.parametrize(("pool_size", "capacity"), [(20, 5), (8, 2), (3, 0)])
def test_a_quarter_of_the_pool_is_lent_to_the_shelf(pool_size: int, capacity: int) -> None:
    assert shelf_capacity(pool_size) == capacity


@pytest.fixture
def store(postgres_database_url: str) -> Iterator[PostgresStore]:
    opened = open_postgres_store(postgres_database_url, pool_size=8)
    assert isinstance(opened, PostgresStore)
    opened.migrate()
    opened.reset()
    yield opened
    opened.close()


def backend_of(store: PostgresStore) -> Backend:
    backend = store.backend
    assert backend._idle is not None
    return backend


def session_id(backend: Backend) -> int:
    rows = backend.fetch(select(func.pg_backend_pid()), {})
    return int(rows[0][0])


@pytest.mark.postgres
def test_serial_calls_reuse_one_shelved_session(store: PostgresStore) -> None:
    backend = backend_of(store)
    sessions = {session_id(backend) for _ in range(20)}
    store.insert_workflow(WorkflowRecord(workflow_id="w", status="PENDING", name="fn"))
    sessions.add(session_id(backend))
    assert len(sessions) == 1
    assert len(backend._idle or ()) == 1


@pytest.mark.postgres
def test_a_connection_left_in_a_transaction_goes_back_to_the_pool(store: PostgresStore) -> None:
    backend = backend_of(store)
    session_id(backend)
    fairy: Any = backend.checkout(Mode.WRITE_ONE)
    assert len(backend._idle or ()) == 0
    fairy.dbapi_connection.execute("BEGIN")
    backend.checkin(fairy)
    assert len(backend._idle or ()) == 0  # not shelved: the pool rolls it back
    with backend.engine.connect() as conn:  # and it comes back clean from the pool
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert session_id(backend) > 0


@pytest.mark.postgres
def test_sessions_the_server_dropped_are_not_handed_out_again(
    store: PostgresStore, postgres_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures: list[object] = []
    monkeypatch.setattr(Outage, "down", classmethod(lambda cls, *args: failures.append(args)))
    backend = backend_of(store)
    shelf = backend._idle
    assert shelf is not None
    two = [backend.checkout(Mode.READ), backend.checkout(Mode.READ)]
    killed = {fairy.dbapi_connection.info.backend_pid for fairy in two}
    for fairy in two:
        backend.checkin(fairy)
    assert len(shelf) == 2
    with psycopg.connect(libpq_url(postgres_database_url), autocommit=True) as admin:
        for pid in killed:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # The first dead session fails once and empties the shelf; the retry connects anew.
    after = session_id(backend)
    assert after not in killed
    assert len(failures) == 1
    assert [fairy.dbapi_connection.info.backend_pid for fairy in shelf._shelf] == [after]
    store.insert_workflow(WorkflowRecord(workflow_id="after", status="PENDING", name="fn"))
    assert store.get_workflow("after") is not None


@pytest.mark.postgres
def test_many_threads_never_shelve_more_than_the_capacity(store: PostgresStore) -> None:
    backend = backend_of(store)
    shelf = backend._idle
    assert shelf is not None and shelf.capacity == 2
    largest = 0

    def calls(_: int) -> None:
        nonlocal largest
        for _ in range(30):
            session_id(backend)
            largest = max(largest, len(shelf))

    with ThreadPoolExecutor(6) as threads:
        list(threads.map(calls, range(6)))  # re-raises a thread's error
    assert 1 <= largest <= 2
    # The shelf lends two connections at most: six of the pool's eight stay free.
    held = [backend.engine.raw_connection() for _ in range(6)]
    for fairy in held:
        fairy.close()
