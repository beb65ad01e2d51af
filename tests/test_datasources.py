"""``SQLAlchemyDatasource`` / ``AsyncSQLAlchemyDatasource``: exactly-once transactions on
a SQLite or Postgres user database, with any system store."""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from typing_extensions import assert_type

from tests._pg import drop_database, recreate_database, require_postgres
from transact import (
    DBOS,
    AsyncSQLAlchemyDatasource,
    DefaultSerializer,
    PortableJSONSerializer,
    SetWorkflowID,
    SQLAlchemyDatasource,
)
from transact.errors import DBOSException

runs: Counter[str] = Counter()


class Sources:
    """The datasources of the running test (created before launch, as DBOS requires)."""

    sync: SQLAlchemyDatasource
    aio: AsyncSQLAlchemyDatasource


def insert_order(order_id: str, cents: int) -> int:
    runs["insert_order"] += 1
    session = Sources.sync.sql_session
    session.execute(
        text("INSERT INTO ds_orders (id, cents) VALUES (:id, :cents)"),
        {"id": order_id, "cents": cents},
    )
    return int(session.execute(text("SELECT SUM(cents) FROM ds_orders")).scalar_one())


def insert_then_fail(order_id: str) -> None:
    Sources.sync.sql_session.execute(
        text("INSERT INTO ds_orders (id, cents) VALUES (:id, 1)"), {"id": order_id}
    )
    raise ValueError("refused")


async def insert_order_async(order_id: str, cents: int) -> int:
    runs["insert_order_async"] += 1
    session = Sources.aio.sql_session
    await session.execute(
        text("INSERT INTO ds_orders (id, cents) VALUES (:id, :cents)"),
        {"id": order_id, "cents": cents},
    )
    return int((await session.execute(text("SELECT SUM(cents) FROM ds_orders"))).scalar_one())


@DBOS.workflow()
def ds_workflow(order_id: str) -> int:
    return Sources.sync.run_tx_step({"name": "insert_order"}, insert_order, order_id, 100)


@DBOS.workflow()
def ds_failing_workflow(order_id: str) -> str:
    try:
        Sources.sync.run_tx_step({"name": "insert_then_fail"}, insert_then_fail, order_id)
    except ValueError as exc:
        return str(exc)
    return "not reached"


@DBOS.workflow()
async def ds_async_workflow(order_id: str) -> int:
    return await Sources.aio.run_tx_step_async(
        {"name": "insert_order_async"}, insert_order_async, order_id, 7
    )


@pytest.fixture(scope="session")
def datasource_postgres_url() -> Iterator[str]:
    """A Postgres user database of this test process, apart from the system database."""
    require_postgres()
    name = f"transact_ds_{os.getpid()}"
    yield recreate_database(name)
    drop_database(name)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="user-sqlite"),
        pytest.param("postgres", id="user-postgres", marks=pytest.mark.postgres),
    ]
)
def user_database_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """An empty user database (no ``ds_orders`` rows, no recorded outputs)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/user.sqlite"
    url: str = request.getfixturevalue("datasource_postgres_url")
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS dbos CASCADE"))
        conn.execute(text("DROP TABLE IF EXISTS ds_orders"))
        conn.execute(text("DROP TABLE IF EXISTS crash_orders"))  # datasource_crash_app's
    engine.dispose()
    return url


def launch(system_database_url: str) -> None:
    DBOS.destroy()
    DBOS(config={"name": "test-ds", "system_database_url": system_database_url})
    DBOS.launch()


@pytest.fixture
def dbos(system_database_url: str, user_database_url: str) -> Iterator[str]:
    runs.clear()
    DBOS.destroy()
    Sources.sync = SQLAlchemyDatasource.create(user_database_url)
    with Sources.sync.engine.begin() as conn:
        conn.execute(text("CREATE TABLE ds_orders (id TEXT PRIMARY KEY, cents INTEGER NOT NULL)"))
    launch(system_database_url)
    yield user_database_url
    DBOS.destroy()
    Sources.sync.engine.dispose()


def count(sql: str) -> int:
    with Sources.sync.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def outputs_table() -> str:
    return "dbos.datasource_outputs" if Sources.sync._db.is_postgres else "datasource_outputs"


def test_a_transaction_runs_once_and_records_its_output(dbos: str) -> None:
    with SetWorkflowID("ds-1"):
        assert ds_workflow("o-1") == 100
    with SetWorkflowID("ds-1"):
        assert ds_workflow("o-1") == 100
    assert runs["insert_order"] == 1
    assert count(f"SELECT COUNT(*) FROM {outputs_table()} WHERE workflow_id = 'ds-1'") == 1
    [step] = DBOS.list_workflow_steps("ds-1")
    assert (step["function_name"], step["output"]) == ("insert_order", 100)


def test_a_failed_transaction_rolls_back_and_records_the_error(dbos: str) -> None:
    with SetWorkflowID("ds-fail"):
        assert ds_failing_workflow("o-2") == "refused"
    assert count("SELECT COUNT(*) FROM ds_orders") == 0
    assert count(f"SELECT COUNT(*) FROM {outputs_table()}") == 0
    [step] = DBOS.list_workflow_steps("ds-fail")
    assert isinstance(step["error"], ValueError)


def test_the_decorator_and_a_plain_call_outside_workflows(dbos: str) -> None:
    @Sources.sync.transaction
    def bare(order_id: str) -> int:
        return insert_order(order_id, 3)

    @Sources.sync.transaction(name="named_insert", isolation_level="READ COMMITTED")
    def named(order_id: str) -> int:
        return insert_order(order_id, 4)

    @DBOS.workflow()
    def both() -> int:
        first = bare("b-1")
        assert_type(first, int)  # the decorators keep the function's type
        return first + named("b-2")

    assert bare("plain") == 3  # outside a workflow: one transaction, nothing recorded
    assert DBOS.list_workflows() == []
    with SetWorkflowID("ds-both"):
        assert both() == 3 + 3 + (3 + 3 + 4)
    names = [s["function_name"] for s in DBOS.list_workflow_steps("ds-both")]
    assert names == [bare.__qualname__, "named_insert"]


def test_a_committed_transaction_is_not_rerun_after_a_lost_checkpoint(
    system_database_url: str, dbos: str
) -> None:
    """The process died between the user database's commit and the system checkpoint:
    the recovered workflow finds the outcome committed with the writes and uses it."""
    from transact._facade.launched import runtime

    rt = runtime()
    rt.store.insert_workflow(rt.new_record(rt.spec("ds_workflow", "lost"), "lost", ("o-3",), {}))
    with Sources.sync.engine.begin() as conn:  # what the crashed execution committed
        conn.execute(text("INSERT INTO ds_orders (id, cents) VALUES ('o-3', 100)"))
        conn.execute(
            text(
                f"INSERT INTO {outputs_table()} (workflow_id, step_id, output, created_at) "
                "VALUES ('lost', 1, :out, 0)"
            ),
            {"out": rt.serializer.serialize(100)},
        )
    if system_database_url.startswith("memory://"):
        rt.recover_pending()  # the memory store does not outlive a relaunch
    else:
        launch(system_database_url)
    assert DBOS.retrieve_workflow("lost").get_result(polling_interval_sec=0.01) == 100
    assert runs["insert_order"] == 0


def test_a_datasource_serializer_stores_its_outputs(
    system_database_url: str, user_database_url: str
) -> None:
    runs.clear()
    DBOS.destroy()
    Sources.sync = SQLAlchemyDatasource.create(
        user_database_url, serializer=PortableJSONSerializer()
    )
    with Sources.sync.engine.begin() as conn:
        conn.execute(text("CREATE TABLE ds_orders (id TEXT PRIMARY KEY, cents INTEGER NOT NULL)"))
    launch(system_database_url)
    try:
        with SetWorkflowID("ds-json"):
            assert ds_workflow("j-1") == 100
        with Sources.sync.engine.connect() as conn:
            row = conn.execute(text(f"SELECT output, serialization FROM {outputs_table()}")).one()
        assert tuple(row) == ("100", "portable_json")
        [step] = DBOS.list_workflow_steps("ds-json")
        assert step["output"] == 100
    finally:
        DBOS.destroy()
        Sources.sync.engine.dispose()


def raced_insert(order_id: str) -> int:
    """Another execution of the same workflow commits this transaction while it runs."""
    runs["raced_insert"] += 1
    from transact._facade.launched import runtime

    with Sources.sync.engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO {outputs_table()} (workflow_id, step_id, output, created_at) "
                "VALUES ('raced', 1, :out, 0)"
            ),
            {"out": runtime().serializer.serialize(999)},
        )
    return insert_order(order_id, 1)


@DBOS.workflow()
def raced_workflow() -> int:
    return Sources.sync.run_tx_step({"name": "raced_insert"}, raced_insert, "r-1")


def test_a_transaction_committed_by_a_concurrent_execution_is_not_run_twice(dbos: str) -> None:
    with SetWorkflowID("raced"):
        assert raced_workflow() == 999  # the other execution's outcome
    assert runs["raced_insert"] == 1
    assert count("SELECT COUNT(*) FROM ds_orders") == 0  # this execution rolled back


def test_misuse_is_refused_with_dbos_messages(dbos: str) -> None:
    with pytest.raises(AssertionError, match="within a sync datasource transaction"):
        Sources.sync.sql_session  # noqa: B018

    async def coroutine() -> None:
        return None

    with pytest.raises(DBOSException, match="requires a non-coroutine function"):
        Sources.sync.transaction(coroutine)
    with pytest.raises(DBOSException, match=r"use AsyncDatasource\.run_tx_step_async"):
        _ = Sources.sync.run_tx_step({}, coroutine)
    with pytest.raises(DBOSException, match=r"^DBOS Error: Datasources must be created before"):
        SQLAlchemyDatasource.create(dbos)
    with pytest.raises(ValueError, match="isolation_level"):
        Sources.sync.transaction(isolation_level="CHAOS")  # type: ignore[call-overload]
    with pytest.raises(DBOSException, match=r"requires a sqlalchemy\.orm\.sessionmaker"):
        SQLAlchemyDatasource(object())  # type: ignore[arg-type]


def test_async_datasource_runs_once(system_database_url: str, user_database_url: str) -> None:
    runs.clear()
    DBOS.destroy()

    async def scenario() -> None:
        Sources.aio = await AsyncSQLAlchemyDatasource.create(user_database_url)
        async with Sources.aio.engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS ds_orders"))
            await conn.execute(
                text("CREATE TABLE ds_orders (id TEXT PRIMARY KEY, cents INTEGER NOT NULL)")
            )

        @Sources.aio.transaction()
        async def decorated(order_id: str) -> int:
            return await insert_order_async(order_id, 1)

        with pytest.raises(DBOSException, match="requires a coroutine function"):
            Sources.aio.transaction(lambda: None)  # type: ignore[arg-type,return-value]
        with pytest.raises(AssertionError, match="within an async datasource transaction"):
            Sources.aio.sql_session  # noqa: B018
        await asyncio.to_thread(launch, system_database_url)
        try:
            with SetWorkflowID("ads-1"):
                assert await ds_async_workflow("a-1") == 7
            with SetWorkflowID("ads-1"):
                assert await ds_async_workflow("a-1") == 7
            assert runs["insert_order_async"] == 1
            # A previous execution committed step 1 and died before its checkpoint.
            table = (
                "dbos.datasource_outputs" if Sources.aio._db.is_postgres else "datasource_outputs"
            )
            async with Sources.aio.engine.begin() as conn:
                await conn.execute(
                    text(
                        f"INSERT INTO {table} (workflow_id, step_id, output, created_at) "
                        "VALUES ('ads-lost', 1, :out, 0)"
                    ),
                    {"out": DefaultSerializer().serialize(41)},
                )
            with SetWorkflowID("ads-lost"):
                assert await ds_async_workflow("a-2") == 41
            assert runs["insert_order_async"] == 1  # not run again
            plain = await decorated("plain")  # outside a workflow
            assert_type(plain, int)
            assert plain == 8
            steps: list[Any] = await DBOS.list_workflow_steps_async("ads-1")
            assert [(s["function_name"], s["output"]) for s in steps] == [("insert_order_async", 7)]
        finally:
            await asyncio.to_thread(DBOS.destroy)
            await Sources.aio.engine.dispose()

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_process_killed_after_the_commit_does_not_run_it_again(
    durable_database_url: str, user_database_url: str, tmp_path: pathlib.Path
) -> None:
    """A real process dies right after the user database committed the transaction and
    before the system checkpoint; the next process recovers without running it again."""
    app = pathlib.Path(__file__).with_name("datasource_crash_app.py")
    effects = tmp_path / "effects.txt"

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, str(app), durable_database_url, user_database_url, str(effects)]
        return subprocess.run([*argv, *extra], capture_output=True, text=True, timeout=120)

    crashed = run("--crash")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert effects.read_text().split() == ["ran"]
    recovered = run()
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.strip() == "10"
    assert effects.read_text().split() == ["ran"]
