"""The common listing, recovery and queue-claim queries use an index (``EXPLAIN``).

On SQLite ``EXPLAIN QUERY PLAN`` must show no bare ``SCAN workflow_status`` (a scan
*using* an index, in the order of the page asked for, is fine). On Postgres, whose
planner prefers a sequential scan of a table this small, sequential scans are turned
off for the check: the question is whether an index *can* serve the query.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from transact._core.query import WorkflowQuery
from transact._store.factory import open_store
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.verbs.queue_statements import CLAIM, RELEASE
from transact._store.sql.verbs.workflow_list import list_statement
from transact._store.sql.verbs.workflows import _PENDING_IDS

PAGE = 100

LISTINGS = {
    "by ids": WorkflowQuery(workflow_ids=("a", "b", "c")),
    "by status": WorkflowQuery(statuses=("SUCCESS",), limit=PAGE),
    "by status, newest first": WorkflowQuery(statuses=("ERROR",), limit=PAGE, sort_desc=True),
    "by name": WorkflowQuery(names=("app.wf",), limit=PAGE),
    "by queue": WorkflowQuery(queue_names=("q",), limit=PAGE),
    "time window": WorkflowQuery(created_after=1, created_before=2),
    "children": WorkflowQuery(parent_workflow_ids=("p",)),
}


@pytest.fixture
def engine(durable_database_url: str) -> Any:
    store = open_store(durable_database_url)
    store.migrate()  # creates the schema
    store.close()
    url = durable_database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    eng = create_engine(url)
    yield eng
    eng.dispose()


def plan(engine: Engine, statement: Any, params: dict[str, Any] | None = None) -> str:
    """The plan of ``statement``: its values inlined, or (an UPDATE's) bound ``params``."""
    if params is None:
        compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        args: Any = ()
    else:
        compiled = statement.compile(dialect=engine.dialect)
        values = {**compiled.params, **params}
        names = compiled.positiontup
        args = tuple(values[n] for n in names) if names else values
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if not sqlite:
            # The statement is compiled to text here, without the store's schema map.
            conn.exec_driver_sql(f"SET search_path TO {POSTGRES_SCHEMA}")
            conn.exec_driver_sql("SET enable_seqscan = off")
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = conn.exec_driver_sql(prefix + str(compiled), args).all()
        conn.rollback()  # EXPLAIN without ANALYZE runs nothing; the SETs end here
    return "\n".join(str(row[-1] if sqlite else row[0]) for row in rows)


def uses_index(engine: Engine, explained: str) -> bool:
    """Every read of ``workflow_status`` goes through an index."""
    if engine.dialect.name == "sqlite":
        reads = [line for line in explained.splitlines() if "workflow_status" in line]
        return bool(reads) and all("INDEX" in line for line in reads)
    return "Seq Scan on workflow_status" not in explained and "Index" in explained


def filters_by_index(engine: Engine, explained: str) -> bool:
    """The filter itself is looked up in an index (not a walk of the creation-time
    index checking every row)."""
    if engine.dialect.name == "sqlite":
        return uses_index(engine, explained) and "SEARCH workflow_status" in explained
    return uses_index(engine, explained) and "Filter:" not in explained


def test_the_newest_page_reads_the_creation_time_index(engine: Engine) -> None:
    explained = plan(
        engine, list_statement(WorkflowQuery(sort_desc=True, limit=PAGE), engine.dialect.name)
    )
    assert uses_index(engine, explained), explained


@pytest.mark.parametrize("listing", sorted(LISTINGS))
def test_a_filtered_listing_finds_its_rows_through_an_index(engine: Engine, listing: str) -> None:
    explained = plan(engine, list_statement(LISTINGS[listing], engine.dialect.name))
    assert filters_by_index(engine, explained), explained


def test_recovery_of_an_executors_pending_workflows_uses_an_index(engine: Engine) -> None:
    explained = plan(engine, _PENDING_IDS, {"executor": "local"})
    assert uses_index(engine, explained), explained


@pytest.mark.parametrize("limited", [False, True])
def test_a_queue_claim_uses_an_index(engine: Engine, limited: bool) -> None:
    claim = CLAIM[(engine.dialect.name, False, "with", limited)]
    params: dict[str, Any] = {"queue": "q", "version": "v", "now": 1, "executor": "e"}
    if limited:
        params["limit"] = 10
    explained = plan(engine, claim, params)
    assert uses_index(engine, explained), explained
    if engine.dialect.name == "sqlite":
        # The claimed rows are looked up by key, not found by walking every ENQUEUED row.
        assert "idx_workflow_status_status" not in explained, explained
        assert "idx_workflow_status_waiting" in explained, explained
    else:
        # The UPDATE finds the picked rows by key, whatever the statistics say of the
        # waiting index (stale ones made it walk every waiting row: 150 ms at 100,000).
        update = explained.split("InitPlan")[-1]
        assert "Scan using pk_workflow_status" in update or "Scan on pk_workflow_status" in (
            update
        ), explained
        assert "Index Cond: (workflow_uuid = ANY (" in update, explained


@pytest.mark.parametrize("partitioned", [False, True])
def test_releasing_due_delayed_rows_reads_only_delayed_rows(
    engine: Engine, partitioned: bool
) -> None:
    """The release before a claim finds its rows in the index of DELAYED rows, not by
    walking every row of the queue (which grew a claim with the queue's backlog)."""
    params: dict[str, Any] = {"queue": "q", "now": 1}
    if partitioned:
        params["partition"] = "p"
    explained = plan(engine, RELEASE[partitioned], params)
    assert uses_index(engine, explained), explained
    if engine.dialect.name == "sqlite":
        # The due rows by time; the undated ones (if any) through either index that
        # holds only DELAYED rows under ``status = 'DELAYED'`` (the planner picks either).
        reads = [line for line in explained.splitlines() if "SEARCH workflow_status" in line]
        assert "idx_workflow_status_delayed (queue_name=? AND delay_until_epoch_ms<?)" in (
            explained
        ), explained
        only_delayed = ("idx_workflow_status_delayed", "idx_workflow_status_status (status=?)")
        for line in reads[1:]:  # after the outer lookup by key
            assert any(index in line for index in only_delayed), explained
