"""``driver.execute``: a Postgres connection reuses one cursor for raw statements, kept
with its pool record, so the connection is freed with its record."""

from __future__ import annotations

import gc
import weakref

import pytest

from transact._store.sql.dialects.postgres import PostgresStore, open_postgres_store
from transact._store.sql.engine.driver import execute
from transact._store.sql.engine.modes import Mode


@pytest.mark.postgres
def test_a_connection_reuses_one_cursor_and_is_freed_with_it(postgres_database_url: str) -> None:
    store = open_postgres_store(postgres_database_url, pool_size=4)
    assert isinstance(store, PostgresStore)
    store.migrate()
    backend = store.backend
    fairy = backend.checkout(Mode.READ)
    first = execute(fairy, "SELECT 1", None)
    assert first.fetchall() == [(1,)]
    second = execute(fairy, "SELECT %s::int", (2,))
    assert second is first
    assert second.fetchall() == [(2,)]
    connection = weakref.ref(fairy.dbapi_connection)
    backend.checkin(fairy)
    store.close()  # the pool closes its connections and drops their records
    del fairy, first, second
    gc.collect()
    assert connection() is None
