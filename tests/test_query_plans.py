"""The common listing, recovery and queue-claim queries use an index (``EXPLAIN``).

On SQLite ``EXPLAIN QUERY PLAN`` must show no bare ``SCAN workflow_status`` (a scan
*using* an index, in the order of the page asked for, is fine). On Postgres the plans
are made as the store's own sessions make them, with sequential scans off
(``dialects/postgres_session.py``): the question is whether an index serves the query.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from transact._core.query import WorkflowQuery
from transact._store.factory import open_store
from transact._store.sql.dialects.postgres_session import SESSION_SETTINGS
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.store import SQLStore
from transact._store.sql.verbs.checkpoints import _BATCH_INSERT, _INSERT_CHECKPOINT
from transact._store.sql.verbs.partition_sweep import STARTABLE_KEYS, SWEEP
from transact._store.sql.verbs.queue_statements import CLAIM, RELEASE
from transact._store.sql.verbs.queue_statistics import StaleStatistics
from transact._store.sql.verbs.workflow_list import list_statement
from transact._store.sql.verbs.workflows import (
    _BATCH_FINISH,
    _BEGIN_RECOVERY_MANY,
    _FINISH,
    _PENDING_IDS,
)

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
    sqlite = engine.dialect.name == "sqlite"
    if params is None:
        compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        sql, args = str(compiled), ()
    else:
        compiled = statement.compile(dialect=engine.dialect)
        # Expanded: an ``IN`` list's parameter becomes one placeholder per value.
        state = compiled.construct_expanded_state({**compiled.params, **params})
        sql = state.statement
        args = state.positional_parameters if sqlite else state.parameters
    with engine.connect() as conn:
        if not sqlite:
            # The statement is compiled to text here, without the store's schema map.
            conn.exec_driver_sql(f"SET search_path TO {POSTGRES_SCHEMA}")
            conn.exec_driver_sql(SESSION_SETTINGS)  # as the store's sessions plan
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = conn.exec_driver_sql(prefix + sql, args).all()
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


@pytest.mark.parametrize("limited", [False, True])
def test_a_partition_sweep_uses_indexes(engine: Engine, limited: bool) -> None:
    """The sweep reads one index entry per partition (a loose scan of the partition
    index), and each partition's head and its PENDING rows through indexes (which index
    serves the PENDING rows is the planner's choice by its statistics)."""
    sweep = SWEEP[(engine.dialect.name, "with", limited)]
    params: dict[str, Any] = {"queue": "q", "version": "v", "now": 1, "executor": "e"}
    if limited:
        params["limit"] = 10
    explained = plan(engine, sweep, params)
    assert uses_index(engine, explained), explained
    assert "idx_workflow_status_partition_waiting" in explained, explained


def test_the_partition_keys_are_found_by_a_loose_scan(engine: Engine) -> None:
    keys = STARTABLE_KEYS[engine.dialect.name]
    explained = plan(engine, keys, {"queue": "q", "now": 1})
    assert uses_index(engine, explained), explained
    assert "idx_workflow_status_partition_waiting" in explained, explained


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


def stale_statistics(
    engine: Engine, *, finished: int, then: int, status: str, queue_name: str | None = None
) -> None:
    """Statistics taken over ``finished`` SUCCESS rows, then ``then`` rows of ``status``
    (on ``queue_name``): what the planner sees after a burst, until autovacuum analyzes
    the table again."""
    columns = "workflow_uuid, status, name, created_at, updated_at, queue_name"
    rows = f"INSERT INTO {POSTGRES_SCHEMA}.workflow_status ({columns}) SELECT %(prefix)s || g,"
    rows += " %(status)s, 'wf', g, g, %(queue)s FROM generate_series(1, %(count)s) g"
    with engine.begin() as conn:
        done = {"prefix": "done-", "status": "SUCCESS", "queue": None, "count": finished}
        conn.exec_driver_sql(rows, done)
        conn.exec_driver_sql(f"ANALYZE {POSTGRES_SCHEMA}.workflow_status")
        burst = {"prefix": "new-", "status": status, "queue": queue_name, "count": then}
        conn.exec_driver_sql(rows, burst)


def explain_driver_sql(engine: Engine, sql: str, params: dict[str, Any]) -> str:
    """The plan of a batched statement (driver SQL with ``%(name)s`` placeholders)."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN " + sql, params).all()
        conn.rollback()
    return "\n".join(str(row[0]) for row in rows)


def by_key_only(explained: str) -> bool:
    """``workflow_status`` is reached through its primary key, not another index."""
    return "pk_workflow_status" in explained and "idx_workflow_status_" not in explained


def test_a_step_and_an_outcome_find_their_row_by_key_whatever_the_statistics(
    engine: Engine,
) -> None:
    """The hot writes guarded by ``status = 'PENDING'`` (a checkpoint, a workflow's
    outcome, alone or batched; recovery's claim of its rows) look their rows up by key
    even when the statistics say few rows are PENDING. Written plainly, the planner then
    walked every PENDING row of a status index: 5-23 ms a write with 100,000 waiting."""
    if engine.dialect.name == "sqlite":
        pytest.skip("a Postgres planner question (SQLite keeps no statistics here)")
    stale_statistics(engine, finished=2000, then=1000, status="PENDING")
    checkpoint = {
        "ck_wf": "new-7", "ck_function_id": 1, "ck_function_name": "step", "ck_output": None,
        "ck_error": None, "ck_child_workflow_id": None, "ck_started_at": 1,
        "ck_completed_at": 2, "ck_args_digest": None,
    }  # fmt: skip
    outcome = {"wf": "new-8", "p_status": "SUCCESS", "p_output": None, "p_error": None, "now": 3}
    for statement, params in ((_INSERT_CHECKPOINT, checkpoint), (_FINISH[False], outcome)):
        explained = plan(engine, statement, params)
        assert by_key_only(explained), explained
    recovery = {"ids": ["new-11", "new-12"], "executor": "e", "now": 4}
    explained = plan(engine, _BEGIN_RECOVERY_MANY, recovery)
    assert by_key_only(explained), explained
    batches = (
        (_BATCH_INSERT, {**checkpoint, "ck_wf": "new-9"}),
        (_BATCH_FINISH, {**outcome, "wf": "new-10", "notify_key": "k"}),
    )
    for batch, row in batches:
        arrays = {name: [row[name], row[name]] for name in batch.params}
        explained = explain_driver_sql(engine, batch.sql, arrays)
        assert by_key_only(explained), explained


def queue_names_in_statistics(engine: Engine) -> list[str]:
    """The queue names ``pg_stats`` knows as common values of ``workflow_status``."""
    with engine.connect() as conn:
        known = conn.exec_driver_sql(
            "SELECT most_common_vals::text FROM pg_stats WHERE schemaname = %(schema)s"
            " AND tablename = 'workflow_status' AND attname = 'queue_name'",
            {"schema": POSTGRES_SCHEMA},
        ).scalar()
    return [] if known is None else str(known).strip("{}").split(",")


def changed_since_analyze(engine: Engine) -> int:
    """``pg_stat_user_tables.n_mod_since_analyze`` of ``workflow_status``."""
    with engine.connect() as conn:
        changed = conn.exec_driver_sql(
            "SELECT n_mod_since_analyze FROM pg_stat_user_tables"
            f" WHERE relid = '{POSTGRES_SCHEMA}.workflow_status'::regclass"
        ).scalar()
    return int(changed or 0)


def analyze_thread(watch: StaleStatistics) -> threading.Thread | None:
    """The ANALYZE thread ``watch`` started, if any."""
    return watch.thread


def test_a_slow_full_claim_refreshes_statistics_that_hid_a_backlog(
    engine: Engine, durable_database_url: str
) -> None:
    """Statistics taken before 5,000 rows were enqueued know nothing of the queue (in
    bench-scale such statistics made every claim read and sort the whole backlog: 37 ms
    at 100,000). A slow claim that filled its batch has the store ANALYZE the table
    (``queue_statistics.py``); then the planner knows the queue, and the claim reads
    the first rows of the waiting index."""
    if engine.dialect.name == "sqlite":
        pytest.skip("a Postgres planner question (SQLite keeps no statistics here)")
    stale_statistics(engine, finished=5000, then=5000, status="ENQUEUED", queue_name="q")
    assert queue_names_in_statistics(engine) == []
    # The store analyzes only a table whose rows changed since the last ANALYZE, as the
    # statistics views report it (a backend reports its counts within about a second).
    deadline = time.monotonic() + 30
    while changed_since_analyze(engine) < 5000:
        assert time.monotonic() < deadline, "the 5,000 inserts were never reported"
        time.sleep(0.1)

    store = open_store(durable_database_url)
    assert isinstance(store, SQLStore) and store._statistics is not None
    watch = store._statistics
    try:
        watch.claimed(0.001, full=True)  # a fast claim: nothing to do
        assert analyze_thread(watch) is None
        watch.claimed(1.0, full=True)
        thread = analyze_thread(watch)
        assert thread is not None
        thread.join(timeout=30)
    finally:
        store.close()
    assert queue_names_in_statistics(engine) == ["q"]
    claim = CLAIM[("postgresql", False, "any", True)]
    params = {"queue": "q", "version": None, "now": 1, "executor": "e", "limit": 10}
    candidates = plan(engine, claim, params).split("CTE released")[0]
    assert "Index Scan using idx_workflow_status_waiting" in candidates, candidates
    assert "Sort" not in candidates, candidates


def rare_then_burst(engine: Engine, *, known: int, then: int) -> None:
    """Statistics taken over ``known`` rows, one in 400 of them ERROR, named 'rare' and
    on queue 'rare' (the others of five statuses, 50 names and 50 queues, interleaved),
    then ``then`` more such rows: the planner expects a few dozen, scattered in the
    table."""
    columns = "workflow_uuid, status, name, queue_name, created_at, updated_at"
    others = "ARRAY['SUCCESS', 'CANCELLED', 'PENDING', 'ENQUEUED', 'DELAYED']"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO {POSTGRES_SCHEMA}.workflow_status ({columns}) SELECT 'known-' || g,"
            f" CASE WHEN mod(g, 400) = 0 THEN 'ERROR' ELSE ({others})[1 + mod(g, 5)] END,"
            " CASE WHEN mod(g, 400) = 0 THEN 'rare' ELSE 'wf-' || mod(g, 50) END,"
            " CASE WHEN mod(g, 400) = 0 THEN 'rare' ELSE 'q-' || mod(g, 50) END, g, g"
            " FROM generate_series(1, %(known)s) g",
            {"known": known},
        )
        conn.exec_driver_sql(f"ANALYZE {POSTGRES_SCHEMA}.workflow_status")
        conn.exec_driver_sql(
            f"INSERT INTO {POSTGRES_SCHEMA}.workflow_status ({columns}) SELECT 'burst-' || g,"
            " 'ERROR', 'rare', 'rare', %(known)s + g, g FROM generate_series(1, %(then)s) g",
            {"known": known, "then": then},
        )


@pytest.mark.parametrize(
    ("index", "query"),
    [
        ("idx_workflow_status_status", WorkflowQuery(statuses=("ERROR",), limit=PAGE)),
        ("idx_workflow_status_name", WorkflowQuery(names=("rare",), limit=PAGE, sort_desc=True)),
        ("idx_workflow_status_queue_name", WorkflowQuery(queue_names=("rare",), limit=PAGE)),
    ],
    ids=["status", "name, newest first", "queue"],
)
def test_a_page_of_one_status_name_or_queue_reads_its_index_in_order_whatever_the_statistics(
    engine: Engine, index: str, query: WorkflowQuery
) -> None:
    """Statistics that expect a few dozen matching rows made a page of 100 collect all
    20,000 through a bitmap scan and sort them (in bench-scale at 10,000, with no
    statistics at all: 6-15 ms instead of 0.1). The page reads its listing index in
    order and stops at the LIMIT (``workflow_list._one_value_page``)."""
    if engine.dialect.name == "sqlite":
        pytest.skip("a Postgres planner question (SQLite keeps no statistics here)")
    rare_then_burst(engine, known=20_000, then=20_000)
    explained = plan(engine, list_statement(query, "postgresql"))
    assert f"Index Scan Backward using {index}" in explained or (
        f"Index Scan using {index}" in explained
    ), explained
    assert "Sort" not in explained and "Bitmap" not in explained, explained


def test_deleting_workflows_reads_checkpoints_through_an_index_whatever_the_statistics(
    engine: Engine, durable_database_url: str
) -> None:
    """Statistics taken while one workflow held every checkpoint (or none taken yet)
    expect hundreds of checkpoints per id, and the delete of a 500-id chunk scanned the
    whole table (garbage collection in bench-scale: 18 ms a chunk at 100,000). Each
    statement of ``delete_workflows`` is explained in its own transaction, as it runs."""
    if engine.dialect.name == "sqlite":
        pytest.skip("a Postgres planner question (SQLite keeps no statistics here)")
    stale_statistics(engine, finished=5000, then=0, status="SUCCESS")
    checkpoints = f"INSERT INTO {POSTGRES_SCHEMA}.operation_outputs (workflow_uuid, function_id)"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"{checkpoints} SELECT 'done-1', g FROM generate_series(1, 2000) g")
        conn.exec_driver_sql(f"ANALYZE {POSTGRES_SCHEMA}.operation_outputs")
        conn.exec_driver_sql(
            f"{checkpoints} SELECT 'done-' || g, 1 FROM generate_series(2, 5000) g"
        )
    store = open_store(durable_database_url)
    assert isinstance(store, SQLStore)
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.startswith("DELETE"):
            rows = cursor.connection.execute("EXPLAIN " + statement, params).fetchall()
            plans.append("\n".join(str(row[0]) for row in rows))

    event.listen(store._db.engine, "before_cursor_execute", explain)
    try:
        store.delete_workflows([f"done-{i}" for i in range(1001, 2001)])
    finally:
        event.remove(store._db.engine, "before_cursor_execute", explain)
        store.close()
    # Two chunks of 500: checkpoints, stream values, event history, events, workflows.
    assert len(plans) == 10, plans
    for explained in plans:
        assert "Seq Scan" not in explained, explained
        assert "Index" in explained, explained


def test_cancelling_and_descendants_bind_one_id_array_and_read_an_index(
    engine: Engine, durable_database_url: str
) -> None:
    """``cancel_workflows`` and ``descendants`` bind each chunk's ids as one array on
    Postgres (``maintenance._among_ids``), not as a 500-parameter ``IN`` list, and with
    20,000 rows whose statistics knew 100 they read ``workflow_status`` through its key
    and the parent index. Each statement is explained as the store runs it."""
    if engine.dialect.name == "sqlite":
        pytest.skip("a Postgres planner question (SQLite keeps no statistics here)")
    columns = "workflow_uuid, status, name, created_at, updated_at, parent_workflow_id"
    rows = f"INSERT INTO {POSTGRES_SCHEMA}.workflow_status ({columns}) SELECT"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"{rows} 'known-' || g, 'SUCCESS', 'wf', g, g, NULL FROM generate_series(1, 100) g"
        )
        conn.exec_driver_sql(f"ANALYZE {POSTGRES_SCHEMA}.workflow_status")
        # Each tenth a child of an earlier one: new-10 of new-1, new-100 of new-10, ...
        conn.exec_driver_sql(
            f"{rows} 'new-' || g, 'PENDING', 'wf', 100 + g, g,"
            " CASE WHEN mod(g, 10) = 0 THEN 'new-' || (g / 10) END"
            " FROM generate_series(1, 20000) g"
        )
    store = open_store(durable_database_url)
    assert isinstance(store, SQLStore)
    plans: list[tuple[str, str]] = []

    def explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if isinstance(params, dict) and any(name.startswith("ids") for name in params):
            assert isinstance(params.get("ids"), list), statement[:300]  # one array, no list
            rows = cursor.connection.execute("EXPLAIN " + statement, params).fetchall()
            plans.append((statement, "\n".join(str(row[0]) for row in rows)))

    ids = [f"new-{i}" for i in range(1, 601)]  # two chunks
    event.listen(store._db.engine, "before_cursor_execute", explain)
    try:
        found = store.descendants(ids)
        children = len(plans)
        cancelled = store.cancel_workflows(ids, 1)
    finally:
        event.remove(store._db.engine, "before_cursor_execute", explain)
        store.close()
    # new-610 ... new-6000 (new-10 ... new-600 were asked for), then new-6100 ... new-20000.
    assert len(found) == 540 + 140 and len(cancelled) == 600
    assert children >= 2 and len(plans) == children + 2, plans
    for n, (statement, explained) in enumerate(plans):
        index = "idx_workflow_status_parent_workflow_id" if n < children else "pk_workflow_status"
        assert "= ANY (" in statement and "Seq Scan" not in explained, explained
        assert index in explained, explained
