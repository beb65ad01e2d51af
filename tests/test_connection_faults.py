"""Every system-database write survives a dropped connection (Postgres, through
``tests/faults.py``): a workflow whose write lost its connection, before the statement
reached the server or after it committed there, still completes with the right result,
with each step run once, each message consumed once and each event and stream value
written once."""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.faults import FaultProxy
from tests.waiting import wait_until
from transact import DBOS, Queue, SetWorkflowID
from transact._store.sql.engine.attempts import Outage

pytestmark = pytest.mark.postgres

runs: Counter[tuple[str, str]] = Counter()
queue = Queue("faults-queue", concurrency=2)


@DBOS.step()
def add_one(x: int) -> int:
    runs[(DBOS.workflow_id or "", "add_one")] += 1
    return x + 1


@DBOS.workflow()
def doubled(x: int) -> int:
    return add_one(x) * 2


@DBOS.workflow()
def every_write(x: int) -> tuple[int, str, int, int, list[int]]:
    a = add_one(x)
    DBOS.set_event("a", a)
    DBOS.write_stream("s", a)
    DBOS.close_stream("s")
    DBOS.send(DBOS.workflow_id or "", "hello", "topic")
    got = DBOS.recv("topic", timeout_seconds=10)
    child = DBOS.start_workflow(doubled, a).get_result()
    queued = queue.enqueue(doubled, a + 1).get_result()
    DBOS.sleep(0.01)
    return a, str(got), child, queued, list(DBOS.read_stream(DBOS.workflow_id or "", "s"))


WRITES = {
    "workflow insert": "INSERT INTO transact.workflow_status",
    "checkpoint": "INSERT INTO transact.operation_outputs",
    "event": "INSERT INTO transact.workflow_events",
    "stream": "INSERT INTO transact.streams",
    "send": "INSERT INTO transact.notifications",
    "recv": "UPDATE transact.notifications",
    "queue claim": "WITH claimable",
    "outcome": "UPDATE transact.workflow_status SET status",
    "commit": "COMMIT",
}


def expected(x: int) -> tuple[int, str, int, int, list[int]]:
    return x + 1, "hello", (x + 2) * 2, (x + 3) * 2, [x + 1]


@pytest.fixture
def proxied(postgres_database_url: str) -> Iterator[FaultProxy]:
    from tests.conftest import emptied

    emptied(postgres_database_url)
    proxy = FaultProxy()
    runs.clear()
    DBOS.destroy()
    DBOS(
        config={
            "name": "test-faults",
            "system_database_url": proxy.url(postgres_database_url),
            "system_database_retry_timeout_sec": 30,
        }
    )
    DBOS.launch()
    try:
        yield proxy
    finally:
        DBOS.destroy()
        proxy.close()


def at_or_after(at: int, number: int, _sql: str) -> bool:
    return number >= at


def first_of_kind(at: int, marker: str, number: int, sql: str) -> bool:
    return number >= at and marker in sql


def run_once(proxy: FaultProxy, workflow_id: str, x: int) -> None:
    with SetWorkflowID(workflow_id):
        result = every_write(x)
    assert result == expected(x)
    status = DBOS.get_workflow_status(workflow_id)
    assert status is not None and status.status == "SUCCESS"
    # Each step ran once: none ran again after its checkpoint committed.
    steps = {wf: n for (wf, name), n in runs.items() if wf == workflow_id}
    assert steps == {workflow_id: 1}
    assert DBOS.get_event(workflow_id, "a") == x + 1


@pytest.mark.parametrize("after_reply", [True, False], ids=["in-doubt", "not-sent"])
def test_workflow_survives_a_dropped_connection_at_each_write(
    proxied: FaultProxy, after_reply: bool, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = proxied
    start = len(proxy.writes)
    run_once(proxy, "reference", 1)
    count = len(proxy.writes) - start
    assert count >= 10  # the workflow's writes, and the child's and queued workflow's
    caplog.set_level(logging.WARNING, logger="transact")
    for n in range(count):
        first = len(proxy.writes)
        proxy.arm(functools.partial(at_or_after, first + n), after_reply=after_reply)
        run_once(proxy, f"fault-{n}", n * 10)
        proxy.disarm()
    # Background writes (queue claims) shift which statement a numbered cut lands on, so
    # the sweep may miss a kind; each kind it missed is then cut by its SQL, once.
    for kind, marker in WRITES.items():
        if not any(marker in sql for sql in proxy.dropped):
            proxy.arm(
                functools.partial(first_of_kind, len(proxy.writes), marker), after_reply=after_reply
            )
            run_once(proxy, f"fault-{kind}", 7)
            proxy.disarm()
    # The cuts hit every kind of write the workflow makes.
    hit = {kind for sql in proxy.dropped for kind, marker in WRITES.items() if marker in sql}
    assert hit == set(WRITES), hit
    assert any("unavailable" in r.getMessage() for r in caplog.records)
    assert any("is back" in r.getMessage() for r in caplog.records)


def test_an_outage_longer_than_the_timeout_fails_clearly(postgres_database_url: str) -> None:
    from tests.conftest import emptied
    from transact._store.factory import open_store

    emptied(postgres_database_url)
    proxy = FaultProxy()
    store = open_store(proxy.url(postgres_database_url), retry_timeout=0.5)
    try:
        store.migrate()
        proxy.arm(lambda _n, _sql: True, after_reply=False)
        proxy.close()  # and nothing listens any more
        from transact._store.records import WorkflowRecord
        from transact.errors import DBOSException

        with pytest.raises(DBOSException, match=r"gave up after retrying for 0\.5s"):
            store.insert_workflow(WorkflowRecord(workflow_id="w", status="PENDING", name="n"))
    finally:
        store.close()


# --- application transactions ------------------------------------------------------------

txn_runs: Counter[str] = Counter()


@DBOS.transaction()
def add_order(order_id: str) -> int:
    txn_runs[order_id] += 1
    session = DBOS.sql_session
    session.execute(text("INSERT INTO fault_orders (id) VALUES (:id)"), {"id": order_id})
    return int(session.execute(text("SELECT count(*) FROM fault_orders")).scalar_one())


@DBOS.transaction()
def refuse_order(order_id: str) -> None:
    txn_runs[order_id] += 1
    DBOS.sql_session.execute(text("INSERT INTO fault_orders (id) VALUES (:id)"), {"id": order_id})
    raise ValueError(f"refused {order_id}")


@DBOS.workflow()
def order(order_id: str) -> int:
    return add_order(order_id)


@DBOS.workflow()
def refused(order_id: str) -> str:
    try:
        refuse_order(order_id)
    except ValueError as exc:
        return str(exc)
    return "not reached"


@pytest.fixture
def app_proxied(postgres_database_url: str) -> Iterator[FaultProxy]:
    from tests.conftest import emptied

    emptied(postgres_database_url)
    proxy = FaultProxy()
    txn_runs.clear()
    DBOS.destroy()
    DBOS(
        config={
            "name": "test-faults",
            "system_database_url": postgres_database_url,
            "application_database_url": proxy.url(postgres_database_url),
        }
    )
    DBOS.launch()
    from transact._facade.launched import runtime

    app = runtime().app_db
    assert app is not None
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS fault_orders"))
        conn.execute(text("CREATE TABLE fault_orders (id TEXT PRIMARY KEY)"))
        conn.execute(text("DELETE FROM transact_transaction_outputs"))
    try:
        yield proxy
    finally:
        DBOS.destroy()
        proxy.close()


@pytest.mark.parametrize(
    ("target", "after_reply"),
    [
        ("COMMIT", True),  # committed, the client cannot tell: found by its outcome row
        ("COMMIT", False),  # never committed: run again
        ("INSERT INTO fault_orders", False),
        ("INSERT INTO transact_transaction_outputs", True),  # inside the transaction
    ],
)
def test_a_transaction_in_doubt_is_resolved_by_its_outcome_row(
    app_proxied: FaultProxy, target: str, after_reply: bool
) -> None:
    proxy = app_proxied
    proxy.arm(lambda _n, sql: sql.startswith(target), after_reply=after_reply)
    with SetWorkflowID("order-1"):
        assert order("o-1") == 1
    assert proxy.dropped  # the cut happened
    with SetWorkflowID("order-1"):
        assert order("o-1") == 1  # replayed from its checkpoint
    assert txn_runs["o-1"] >= 1
    from transact._facade.launched import runtime

    app = runtime().app_db
    assert app is not None
    with app.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fault_orders")).scalar_one() == 1
    if target == "COMMIT" and after_reply:
        assert txn_runs["o-1"] == 1  # never run twice after its commit


def test_a_failed_transaction_on_a_lost_connection_reports_its_own_error(
    app_proxied: FaultProxy,
) -> None:
    proxy = app_proxied
    proxy.arm(lambda _n, sql: sql.startswith("INSERT INTO fault_orders"), after_reply=True)
    with SetWorkflowID("refused-1"):
        assert refused("o-2") == "refused o-2"
    [step] = DBOS.list_workflow_steps("refused-1")
    assert isinstance(step["error"], ValueError)


# --- a database restart under the background threads ------------------------------------


@DBOS.workflow()
def across_an_outage(x: int) -> int:
    a = add_one(x)
    DBOS.sleep(1.5)  # the database goes away meanwhile
    return add_one(a)


def test_background_threads_ride_out_a_restart_with_one_warning_and_one_back_line(
    proxied: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = proxied
    caplog.set_level(logging.DEBUG, logger="transact")
    Outage.forget()  # an outage an earlier test gave up on
    with SetWorkflowID("outage"):
        handle = DBOS.start_workflow(across_an_outage, 1)
    wait_until(lambda: runs[("outage", "add_one")] == 1)
    caplog.clear()
    proxy.down()
    time.sleep(3)  # the queue runners, the listener and the watchdog all meet it
    proxy.up()
    assert handle.get_result() == 3
    assert queue.enqueue(doubled, 1).get_result() == 4

    def warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.levelno >= logging.WARNING]

    def said(part: str) -> int:
        return sum(part in r.getMessage() for r in warnings())

    # The listener reconnects on its own schedule (a try a second), which may come after
    # the work above is done.
    wait_until(lambda: said("listener back") >= said("listener lost"), timeout=15)
    records = warnings()
    text_of = [r.getMessage() for r in records]
    assert sum("system database" in t and "unavailable" in t for t in text_of) == 1, text_of
    assert sum("system database" in t and "is back" in t for t in text_of) == 1, text_of
    lost = sum("listener lost" in t for t in text_of)
    assert lost >= 1 and sum("listener back" in t for t in text_of) == lost, text_of
    assert len(records) == 2 + 2 * lost, text_of  # nothing else: no line per attempt
    assert not [r for r in records if r.exc_info], text_of  # and no traceback


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        ("FATAL:  the database system is starting up", True),
        ("FATAL:  the database system is not yet accepting connections", True),
        ("FATAL:  the database system is shutting down", True),
        ("server closed the connection unexpectedly", True),
        ('FATAL:  database "nope" does not exist', False),
        ('FATAL:  password authentication failed for user "x"', False),
    ],
)
def test_a_server_starting_or_stopping_is_waited_for_a_wrong_database_is_not(
    message: str, transient: bool
) -> None:
    import psycopg
    from sqlalchemy.exc import OperationalError

    from transact._runtime.handlers.transactions import lost as _lost
    from transact._store.sql.engine.errors import is_transient

    error = OperationalError(
        "SELECT 1", {}, psycopg.OperationalError(f"connection failed: {message}")
    )
    assert is_transient(error) is transient
    assert _lost(error) is transient  # the application database's transactions alike
