"""``@DBOS.transaction`` on an application database (SQLite or Postgres), exactly once."""

from __future__ import annotations

import asyncio
import logging
import pathlib
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from transact import DBOS, SetWorkflowID

runs: Counter[str] = Counter()


@DBOS.transaction()
def add_order(order_id: str, cents: int) -> int:
    runs["add_order"] += 1
    DBOS.sql_session.execute(
        text("INSERT INTO orders (id, cents) VALUES (:id, :cents)"),
        {"id": order_id, "cents": cents},
    )
    total = DBOS.sql_session.execute(text("SELECT SUM(cents) FROM orders")).scalar_one()
    return int(total)


@DBOS.transaction(isolation_level="READ COMMITTED")
def add_then_fail(order_id: str) -> None:
    DBOS.sql_session.execute(
        text("INSERT INTO orders (id, cents) VALUES (:id, 1)"), {"id": order_id}
    )
    raise ValueError("refused")


@DBOS.step()
def step_calling_a_transaction() -> int:
    return add_order("from-step", 1)


@DBOS.workflow()
def order_workflow(order_id: str) -> int:
    return add_order(order_id, 100)


@DBOS.workflow()
def failing_order_workflow(order_id: str) -> str:
    try:
        add_then_fail(order_id)
    except ValueError as exc:
        return str(exc)
    return "not reached"


@DBOS.workflow()
def bad_nesting() -> int:
    return step_calling_a_transaction()


@pytest.fixture
def app_url(system_database_url: str, tmp_path: pathlib.Path) -> str:
    if system_database_url.startswith("postgres"):
        return system_database_url  # app tables beside the system schema
    return f"sqlite:///{tmp_path}/app.sqlite"


@pytest.fixture
def dbos(system_database_url: str, app_url: str) -> Iterator[None]:
    runs.clear()
    DBOS.destroy()
    DBOS(
        config={
            "name": "test-txn",
            "system_database_url": system_database_url,
            "application_database_url": app_url,
        }
    )
    DBOS.launch()
    from transact._facade.launched import runtime

    app = runtime().app_db
    assert app is not None
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS orders"))
        conn.execute(text("CREATE TABLE orders (id TEXT PRIMARY KEY, cents INTEGER NOT NULL)"))
        conn.execute(text("DELETE FROM transact_transaction_outputs"))
    yield
    DBOS.destroy()


def test_transaction_runs_once_and_is_recorded(dbos: None) -> None:
    with SetWorkflowID("txn-1"):
        assert order_workflow("o-1") == 100
    with SetWorkflowID("txn-1"):
        assert order_workflow("o-1") == 100
    assert runs["add_order"] == 1
    [step] = DBOS.list_workflow_steps("txn-1")
    assert (step["function_name"], step["output"]) == ("add_order", 100)


def test_failed_transaction_rolls_back_and_records_the_error(dbos: None) -> None:
    with SetWorkflowID("txn-fail"):
        assert failing_order_workflow("o-2") == "refused"
    from transact._facade.launched import runtime

    app = runtime().app_db
    assert app is not None
    with app.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM orders")).scalar_one() == 0
    [step] = DBOS.list_workflow_steps("txn-fail")
    assert isinstance(step["error"], ValueError)


def test_committed_transaction_is_not_rerun_after_a_lost_checkpoint(
    system_database_url: str, app_url: str, dbos: None
) -> None:
    """A crash between the app-database commit and the system checkpoint: the outcome
    recorded in the same commit as the writes is used, and the body does not run again."""
    from transact._facade.launched import runtime

    rt = runtime()
    rt.store.insert_workflow(rt.new_record(rt.spec("order_workflow", "lost"), "lost", ("o-3",), {}))
    app = rt.app_db
    assert app is not None
    with app.engine.begin() as conn:  # what the crashed execution committed
        conn.execute(text("INSERT INTO orders (id, cents) VALUES ('o-3', 100)"))
        conn.execute(
            text(
                "INSERT INTO transact_transaction_outputs "
                "(workflow_uuid, function_id, function_name, output, created_at) "
                "VALUES ('lost', 1, 'add_order', :out, 0)"
            ),
            {"out": rt.serializer.serialize(100)},
        )
    DBOS.destroy()
    DBOS(
        config={
            "name": "test-txn",
            "system_database_url": system_database_url,
            "application_database_url": app_url,
        }
    )
    DBOS.launch()
    assert DBOS.retrieve_workflow("lost").get_result(polling_interval_sec=0.01) == 100
    assert runs["add_order"] == 0


def test_outside_a_workflow_it_is_a_plain_transaction(dbos: None) -> None:
    assert add_order("plain", 5) == 5
    assert DBOS.list_workflows() == []


def test_misuse_is_refused(dbos: None) -> None:
    with pytest.raises(
        AssertionError, match=r"^Transactions must be called from within workflows$"
    ):
        bad_nesting()
    with pytest.raises(AssertionError, match=r"^db is only available within a transaction"):
        DBOS.sql_session  # noqa: B018
    with pytest.raises(ValueError, match="isolation_level"):
        DBOS.transaction(isolation_level="CHAOS")  # type: ignore[arg-type]


def test_without_an_application_database(system_database_url: str) -> None:
    DBOS.destroy()
    DBOS(config={"name": "test-txn", "system_database_url": system_database_url})
    DBOS.launch()
    try:
        with pytest.raises(AssertionError, match="configured with an application_database_url"):
            order_workflow("o-4")
    finally:
        DBOS.destroy()


def test_a_transaction_on_a_running_event_loop_is_warned_about(
    dbos: None, caplog: pytest.LogCaptureFixture
) -> None:
    async def on_the_loop() -> int:
        return add_order("on-loop", 3)

    with caplog.at_level(logging.WARNING, logger="dbos"):
        assert asyncio.run(on_the_loop()) == 3
    assert "was called while an event loop is running. Invoke transactions" in caplog.text
