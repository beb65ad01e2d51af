"""The store's Postgres sessions (``postgres_session.py``): they plan without sequential
scans, so a plan cached while a table was small keeps reading it through an index as it
grows; and they name themselves as DBOS's do, unless the URL names them."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Connection, text

from tests._pg import libpq_url
from transact._store.sql.dialects.postgres import PostgresStore, open_postgres_store
from transact._store.sql.dialects.postgres_session import APPLICATION_NAME, configure_session
from transact._store.sql.engine.modes import Mode

# The batch log read of a queue claim, as the store runs it.
LOG_READ = (
    "SELECT function_id FROM transact.operation_outputs "
    "WHERE workflow_uuid = ANY($1::text[]) ORDER BY workflow_uuid, function_id"
)
ROWS = 20_000


@pytest.fixture
def store(postgres_database_url: str) -> Iterator[PostgresStore]:
    opened = open_postgres_store(postgres_database_url, pool_size=4)
    assert isinstance(opened, PostgresStore)
    opened.migrate()
    opened.reset()
    yield opened
    opened.reset()
    opened.close()


@pytest.mark.postgres
def test_every_store_session_has_sequential_scans_off(store: PostgresStore) -> None:
    backend = store.backend

    def setting(conn: Connection) -> str:
        return str(conn.exec_driver_sql("SHOW enable_seqscan").scalar())

    assert backend.run(Mode.READ, setting) == "off"
    assert backend.run(Mode.WRITE, setting) == "off"
    # One-statement calls run on the idle shelf's raw connections: the same sessions.
    assert backend.fetch(text("SELECT current_setting('enable_seqscan')"), {}) == [("off",)]


def _session_names(store: PostgresStore) -> tuple[str, str]:
    """The ``application_name`` of a pooled session and of the LISTEN session."""
    assert store.subscribe(lambda key: None)
    listener = store.listener
    assert listener is not None and listener.wait_connected(10)
    rows = store.backend.fetch(
        text("SELECT application_name FROM pg_stat_activity WHERE pid = :pid"),
        {"pid": listener.backend_pid()},
    )
    pooled = store.backend.fetch(text("SELECT current_setting('application_name')"), {})
    return str(pooled[0][0]), str(rows[0][0])


@pytest.mark.postgres
def test_sessions_are_named_as_dbos_names_its_own(store: PostgresStore) -> None:
    assert APPLICATION_NAME == "dbos_transact"
    assert _session_names(store) == (APPLICATION_NAME, APPLICATION_NAME)


@pytest.mark.postgres
def test_a_name_in_the_url_wins(postgres_database_url: str) -> None:
    named = open_postgres_store(f"{postgres_database_url}?application_name=billing", pool_size=2)
    assert isinstance(named, PostgresStore)
    try:
        named.migrate()
        assert _session_names(named) == ("billing", "billing")
    finally:
        named.close()


def _cached_plan(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    """The generic plan of ``LOG_READ`` prepared now, explained after the table grew."""
    conn.execute("SET plan_cache_mode = force_generic_plan")
    conn.execute(f"PREPARE log_read(text[]) AS {LOG_READ}")
    conn.execute("EXECUTE log_read(ARRAY['a', 'b'])")  # planned now, while small
    with psycopg.connect(conn.info.dsn, autocommit=True) as writer:
        writer.execute(
            "INSERT INTO transact.operation_outputs (workflow_uuid, function_id, function_name)"
            " SELECT 'grown-' || i, 1, 'step' FROM generate_series(1, %s) AS i",
            (ROWS,),
        )
    rows = conn.execute("EXPLAIN EXECUTE log_read(ARRAY['a', 'b'])").fetchall()
    return "\n".join(str(row[0]) for row in rows)


def emptied(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """An empty table as a new database has, its statistics saying so."""
    conn.execute("DELETE FROM transact.operation_outputs")
    conn.execute("VACUUM ANALYZE transact.operation_outputs")


@pytest.mark.postgres
def test_a_plan_cached_on_a_small_table_reads_it_through_the_index_once_it_grew(
    store: PostgresStore, postgres_database_url: str
) -> None:
    with psycopg.connect(libpq_url(postgres_database_url), autocommit=True) as conn:
        # Autovacuum would analyze the grown table and invalidate the plan: not here.
        conn.execute("ALTER TABLE transact.operation_outputs SET (autovacuum_enabled = false)")
        try:
            emptied(conn)
            with psycopg.connect(libpq_url(postgres_database_url), autocommit=True) as plain:
                unconfigured = _cached_plan(plain)
            emptied(conn)
            with psycopg.connect(libpq_url(postgres_database_url), autocommit=True) as session:
                configure_session(session)
                configured = _cached_plan(session)
        finally:
            conn.execute("DELETE FROM transact.operation_outputs")
            conn.execute("ALTER TABLE transact.operation_outputs RESET (autovacuum_enabled)")
    # Without the setting Postgres keeps the scan it chose while the table was small.
    assert "Seq Scan on operation_outputs" in unconfigured
    assert "Seq Scan" not in configured and "Index" in configured
