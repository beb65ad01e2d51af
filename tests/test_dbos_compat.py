"""DBOS's names, config keys, logger, error texts and async twins, on every store.

The lists themselves are compared in ``test_dbos_surface.py``; here each piece does what
DBOS's does: the same ``str(exc)`` and class for the same condition
(``dbos-errors.md``), the warnings DBOS logs, the ``dbos`` logger printing.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import wait_until
from transact import (
    DBOS,
    DBOSContextEnsure,
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSPortableJSONSerializer,
    KafkaMessage,
    Queue,
    Serializer,
    SetEnqueueOptions,
    SetShardKey,
    SetWorkflowID,
    SetWorkflowTimeout,
    StepStatus,
    VersionInfo,
    WorkflowSerializationFormat,
    run_dbos_database_migrations,
)
from transact._facade import lifecycle
from transact._facade.logs import _ConsoleHandler
from transact._serialization import PortableJSONSerializer
from transact.error import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSInitializationError,
    DBOSWorkflowIDInUseError,
)

NAME = "test-compat"
queue = Queue("compat_queue")
other_queue = Queue("compat_other_queue")
gate = threading.Event()


@DBOS.workflow(name="compat_echo")
def echo(value: int) -> int:
    return value


@DBOS.workflow(name="compat_gated")
def gated(value: int) -> int:
    gate.wait(30)
    return value


@DBOS.workflow(name="compat_writer")
def writer(count: int) -> int:
    for i in range(count):
        DBOS.write_stream("numbers", i)
    DBOS.close_stream("numbers")
    return count


@DBOS.workflow(name="compat_async_reader")
async def async_reader(workflow_id: str) -> list[int]:
    return [value async for value in DBOS.read_stream_async(workflow_id, "numbers")]


@DBOS.workflow(name="compat_async_forker")
async def async_forker(workflow_id: str) -> str:
    handle = await DBOS.fork_workflow_async(workflow_id, 1)
    return handle.workflow_id


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    DBOS.destroy()
    gate.clear()
    yield
    gate.set()
    DBOS.destroy()


@pytest.fixture
def url(system_database_url: str) -> str:
    DBOS(config={"name": NAME, "system_database_url": system_database_url})
    DBOS.launch()
    return system_database_url


# --- names ----------------------------------------------------------------------------


def test_value_types_have_dbos_shapes() -> None:
    assert StepStatus(3, 0, 5).current_attempt == 0
    version: VersionInfo = {
        "version_id": "i",
        "version_name": "v1",
        "version_timestamp": 1,
        "created_at": 1,
        "application_name": None,
    }
    assert version["version_name"] == "v1"
    assert WorkflowSerializationFormat.PORTABLE.value == "portable"
    assert isinstance(WorkflowSerializationFormat.PORTABLE, str)
    assert WorkflowSerializationFormat("native") is WorkflowSerializationFormat.NATIVE
    assert WorkflowSerializationFormat.DEFAULT.value == "None"  # as DBOS's str enum
    assert isinstance(DBOSPortableJSONSerializer(), PortableJSONSerializer)
    assert DBOSPortableJSONSerializer().name() == "portable_json"
    message = KafkaMessage(None, b"k", None, None, 4, 0, (0, 0), "t", b"v")
    assert message.offset == 4


def test_kafka_consumer_is_refused_clearly() -> None:
    with pytest.raises(DBOSException, match="no Kafka integration"):

        @DBOS.kafka_consumer({"group.id": "g"}, ["topic"])
        def consume(msg: KafkaMessage) -> None: ...


def test_context_ensure_keeps_options_and_shard_key_is_refused(url: str) -> None:
    with SetWorkflowID("ensured"), DBOSContextEnsure():
        assert echo(1) == 1
    assert DBOS.get_workflow_status("ensured") is not None
    with pytest.raises(DBOSException, match="must be a non-empty string"):
        SetShardKey("")
    with SetShardKey("tenant"), pytest.raises(DBOSException) as info:
        DBOS.start_workflow(echo, 2)
    assert str(info.value) == (
        "DBOS Error: A shard key was given, but this system database is not sharded"
    )


def test_run_dbos_database_migrations(durable_database_url: str, tmp_path: Any) -> None:
    app_db = f"sqlite:///{tmp_path}/app.sqlite"
    run_dbos_database_migrations(durable_database_url, app_database_url=app_db)
    run_dbos_database_migrations(durable_database_url)  # idempotent
    assert (tmp_path / "app.sqlite").exists()
    DBOS(config={"name": NAME, "system_database_url": durable_database_url})
    DBOS.launch()
    assert echo(5) == 5


# --- config ---------------------------------------------------------------------------


def test_unsupported_keys_are_accepted_with_one_warning_naming_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="dbos"):
        DBOS(
            config={
                "name": NAME,
                "system_database_url": "memory://compat-config",
                "kafka_queue_polling_interval_sec": 2.0,
                "auto_upgrade_interval_sec": 60.0,
                "use_listen_notify": False,
                "run_migrations": True,  # honoured: no warning
                "otlp_log_level": "INFO",
                "enable_patching": True,
                "system_database_retry_timeout_sec": 5.0,
            }
        )
    warned = [r.getMessage() for r in caplog.records if r.name == "dbos"]
    assert len(warned) == 3, warned
    assert sum("'kafka_queue_polling_interval_sec'" in m for m in warned) == 1
    assert sum("'auto_upgrade_interval_sec'" in m for m in warned) == 1
    assert sum("'use_listen_notify'=False" in m for m in warned) == 1
    config = lifecycle.configured().settings.config
    assert config["enable_patching"] is True  # stored for the code that acts on it
    assert config["system_database_retry_timeout_sec"] == 5.0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"name": "app", "kafka_queue_polling_interval": 1.0},
            "unknown config key 'kafka_queue_polling_interval'; did you mean "
            "'kafka_queue_polling_interval_sec'?",
        ),
        (
            {"name": "app", "kafka_queue_polling_interval_sec": 0},
            "kafka_queue_polling_interval_sec must be a finite number at least 0.001 "
            "seconds, got 0",
        ),
        (
            {"name": "app", "auto_upgrade_grace_sec": -1},
            "auto_upgrade_grace_sec must be a finite non-negative number of seconds, got -1",
        ),
        (
            {"name": "app", "observability_query_timeout_sec": float("inf")},
            "observability_query_timeout_sec must be a finite number, got inf",
        ),
        (
            {"name": "app", "system_database_url": "postgresql://u@localhost:5432"},
            "Database name must be specified in the connection URL",
        ),
    ],
)
def test_config_errors_are_dbos_s(config: dict[str, Any], message: str) -> None:
    with pytest.raises(DBOSInitializationError) as info:
        DBOS(config=config)  # type: ignore[arg-type]
    assert str(info.value) == f"DBOS Error 3: Error initializing DBOS Transact: {message}"


# --- logger ---------------------------------------------------------------------------


def _console(stream: io.StringIO) -> _ConsoleHandler:
    handlers = [h for h in DBOS.logger.handlers if isinstance(h, _ConsoleHandler)]
    assert len(handlers) == 1
    handlers[0].setStream(stream)
    return handlers[0]


def test_dbos_logger_prints_at_log_level() -> None:
    DBOS(config={"name": NAME, "system_database_url": "memory://compat-log"})
    assert DBOS.logger is logging.getLogger("dbos")
    out = io.StringIO()
    _console(out)
    DBOS.logger.info("hello from the app")
    DBOS.logger.debug("not shown")
    assert "hello from the app" in out.getvalue()
    assert "[    INFO] (dbos:" in out.getvalue()
    assert "not shown" not in out.getvalue()


def test_console_log_level_filters_the_console_only() -> None:
    DBOS(
        config={
            "name": NAME,
            "system_database_url": "memory://compat-log2",
            "log_level": "DEBUG",
            "console_log_level": "WARNING",
        }
    )
    out = io.StringIO()
    _console(out)
    assert DBOS.logger.isEnabledFor(logging.DEBUG)
    DBOS.logger.info("quiet")
    DBOS.logger.warning("loud")
    assert "loud" in out.getvalue() and "quiet" not in out.getvalue()


# --- errors and warnings --------------------------------------------------------------


def test_before_dbos_and_before_launch(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(DBOSException) as info:
        DBOS.list_workflows()
    assert str(info.value) == "DBOS Error: No DBOS was created yet"
    with caplog.at_level(logging.WARNING, logger="dbos"):
        DBOS.reset_system_database()
    assert "reset_system_database has no effect because global DBOS object does not exist" in (
        caplog.text
    )
    DBOS(config={"name": NAME, "system_database_url": "memory://compat-early"})
    with pytest.raises(DBOSException) as info:
        DBOS.list_workflows()
    assert str(info.value) == "DBOS Error: System database accessed before DBOS was launched"
    DBOS.launch()
    with caplog.at_level(logging.WARNING, logger="dbos"):
        DBOS.launch()
    assert "DBOS was already launched" in caplog.text


def test_context_manager_errors_are_dbos_s(url: str) -> None:
    with pytest.raises(DBOSException) as info:
        SetWorkflowID("  ")
    assert str(info.value) == (
        "DBOS Error: Invalid workflow ID '  ': workflow IDs must be non-empty and cannot be "
        "only whitespace."
    )
    with pytest.raises(Exception, match=r"^Invalid workflow timeout -1. Timeouts must be"):
        SetWorkflowTimeout(-1)
    with pytest.raises(Exception, match=r"^Invalid priority 0. Priority must be between"):
        SetEnqueueOptions(priority=0)
    with SetEnqueueOptions(deduplication_id="d", priority=3), pytest.raises(DBOSException) as info:
        DBOS.start_workflow(echo, 1)
    assert str(info.value) == (
        "DBOS Error: Enqueue option(s) deduplication_id, priority set on a workflow that is "
        "not being enqueued. These options are only supported when enqueueing a workflow "
        "onto a queue."
    )


def test_workflow_errors_are_dbos_s(url: str) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError) as info:
        DBOS.retrieve_workflow("nobody")
    assert str(info.value) == "DBOS Error 5: Non-existent target workflow ID: nobody"
    with pytest.raises(DBOSNonExistentWorkflowError) as info:
        DBOS.send("nobody", "hi")
    assert str(info.value) == "DBOS Error 5: Non-existent `send` destination workflow ID: nobody"
    handle = DBOS.start_workflow(gated, 1)
    DBOS.cancel_workflow(handle.workflow_id)
    gate.set()
    with pytest.raises(DBOSAwaitedWorkflowCancelledError) as cancelled:
        handle.get_result()
    assert str(cancelled.value) == (
        f"DBOS Error 13: Awaited workflow {handle.workflow_id} was cancelled"
    )
    with pytest.raises(ValueError) as bad:
        DBOS.read_stream("nobody", "numbers", polling_interval_sec=0.0)
    assert str(bad.value) == (
        "polling_interval_sec must be a finite number at least 0.001 seconds, got 0.0"
    )


# --- async twins ----------------------------------------------------------------------


def test_fork_workflow_async(url: str) -> None:
    assert echo(7) == 7
    with SetWorkflowID("echo-7"):
        echo(7)
    handle = asyncio.run(DBOS.fork_workflow_async("echo-7", 1))
    assert asyncio.run(handle.get_result()) == 7
    with SetWorkflowID("forker"):
        forked = asyncio.run(async_forker("echo-7"))
    assert DBOS.retrieve_workflow(forked).get_result() == 7
    names = [s["function_name"] for s in DBOS.list_workflow_steps("forker")]
    assert names == ["DBOS.forkWorkflow", "DBOS.getStatus"]


def test_read_stream_async(url: str) -> None:
    with SetWorkflowID("writer"):
        writer(3)

    async def read() -> list[int]:
        return [v async for v in DBOS.read_stream_async("writer", "numbers")]

    assert asyncio.run(read()) == [0, 1, 2]
    with SetWorkflowID("reader"):
        assert asyncio.run(async_reader("writer")) == [0, 1, 2]
    # Four recorded reads: three values and the end, replayed the same way.
    assert len(DBOS.list_workflow_steps("reader")) == 4


def test_list_queued_workflows_async(url: str) -> None:
    with SetWorkflowID("queued-1"):
        handle = queue.enqueue(gated, 1)
    wait_until(lambda: DBOS.get_workflow_status("queued-1") is not None)
    listed = asyncio.run(DBOS.list_queued_workflows_async(queue_name="compat_queue"))
    assert [s.workflow_id for s in listed] == ["queued-1"]
    with pytest.raises(TypeError):
        asyncio.run(DBOS.list_queued_workflows_async(queue_names="compat_queue"))
    gate.set()
    assert handle.get_result() == 1


@DBOS.workflow(name="compat_parent")
def parent(value: int) -> int:
    return echo(value) + echo(value + 1)


def test_dbos_warnings_for_misuse(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dbos"):
        with SetWorkflowID("first"):
            assert parent(1) == 3  # its children take no id from the block: no warning
        assert "Multiple workflows" not in caplog.text
        with SetWorkflowID("only-one"):
            echo(1)
            echo(2)
    assert caplog.text.count("Multiple workflows started in the same SetWorkflowID block") == 1
    assert DBOS.get_workflow_status("only-one") is not None
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dbos"):

        @DBOS.workflow(name="compat_echo")
        def another_echo(value: int) -> int:
            return value

    assert "Duplicate registration of function 'compat_echo'" in caplog.text
    DBOS.workflow(name="compat_echo")(echo.__wrapped__)  # type: ignore[attr-defined]


def test_an_id_reused_for_another_workflow_is_dbos_s_conflict(url: str) -> None:
    with SetWorkflowID("taken"):
        echo(1)
    with SetWorkflowID("taken"), pytest.raises(DBOSException) as info:
        DBOS.start_workflow(parent, 1)
    assert str(info.value) == (
        "DBOS Error 9: Conflicting workflow invocation with the same ID (taken): Workflow "
        "already exists with a different function name: compat_echo, but the provided "
        "function name is: compat_parent"
    )


def test_launch_failures_are_logged_and_raised(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="dbos"), pytest.raises(DBOSException) as info:
        DBOS.launch()
    assert str(info.value) == (
        "DBOS Error: DBOS.launch() was called without a DBOS instance. Construct "
        "DBOS(config=...) first; DBOS.destroy() discards the instance."
    )
    assert "DBOS failed to launch:" in caplog.text


@DBOS.workflow(name="compat_failing")
def failing() -> None:
    raise KeyError("boom")


def test_a_failing_background_workflow_is_logged(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="dbos"):
        handle = DBOS.start_workflow(failing)
        with pytest.raises(KeyError):
            handle.get_result()
        wait_until(lambda: "Exception encountered in background workflow:" in caplog.text)
    assert "KeyError: 'boom'" in caplog.text  # with its traceback


def test_workflow_id_reuse_policy_reject(url: str) -> None:
    with SetWorkflowID("once", workflow_id_reuse_policy="reject"):
        assert echo(1) == 1
    with SetWorkflowID("once"):  # the default returns the recorded outcome
        assert echo(1) == 1
    with (
        SetWorkflowID("once", workflow_id_reuse_policy="reject"),
        pytest.raises(DBOSWorkflowIDInUseError) as info,
    ):
        DBOS.start_workflow(echo, 1)
    assert str(info.value) == (
        "DBOS Error 27: Workflow ID once is already in use by workflow compat_echo with "
        "status SUCCESS."
    )
    with (
        SetWorkflowID("once", workflow_id_reuse_policy="reject"),
        pytest.raises(DBOSWorkflowIDInUseError),
    ):
        queue.enqueue(echo, 1)
    with pytest.raises(DBOSException, match="Invalid workflow_id_reuse_policy never"):
        SetWorkflowID("x", workflow_id_reuse_policy="never")  # type: ignore[arg-type]


def test_an_id_reused_on_another_queue_warns(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with SetWorkflowID("queued-twice"):
        assert queue.enqueue(echo, 3).get_result() == 3
    with caplog.at_level(logging.WARNING, logger="dbos"), SetWorkflowID("queued-twice"):
        assert other_queue.enqueue(echo, 3).get_result() == 3
    assert (
        "Workflow already exists in queue: compat_queue, but the provided queue name is: "
        "compat_other_queue. The queue is not updated." in caplog.text
    )


def test_conductor_metadata_must_be_json() -> None:
    with pytest.raises(DBOSException) as info:
        DBOS(config={"name": NAME, "conductor_executor_metadata": {"x": object()}})
    assert str(info.value).startswith(
        "DBOS Error: conductor_executor_metadata must be JSON-serializable: "
    )


@DBOS.workflow(name="compat_logging")
def logging_workflow() -> None:
    DBOS.logger.info("inside")


def test_log_records_carry_dbos_s_attributes(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dbos"), SetWorkflowID("logs"):
        logging_workflow()
    record = next(r for r in caplog.records if r.getMessage() == "inside")
    assert record.operationUUID == "logs"  # type: ignore[attr-defined]
    assert record.executorID == DBOS.executor_id  # type: ignore[attr-defined]
    assert record.applicationVersion == DBOS.application_version  # type: ignore[attr-defined]


class _JSONSerializer(Serializer):
    """A DBOS-style custom serializer: a subclass that does not override ``name``."""

    def serialize(self, data: Any) -> str:
        return json.dumps(data)

    def deserialize(self, text: str) -> Any:
        return json.loads(text)


def test_a_serializer_subclass_works_as_in_dbos(system_database_url: str) -> None:
    assert _JSONSerializer().name() == "custom_serializer"
    DBOS(
        config={
            "name": NAME,
            "system_database_url": system_database_url,
            "serializer": _JSONSerializer(),
        }
    )
    DBOS.launch()
    with SetWorkflowID("json"):
        assert echo(4) == 4
    status = DBOS.get_workflow_status("json")
    assert status is not None and status.output == 4


@pytest.mark.parametrize(
    ("config", "system_url"),
    [
        ({"name": "my-app"}, "sqlite:///my_app.sqlite"),
        ({"name": "app", "database_url": "sqlite:///app.db"}, "sqlite:///app.db"),
        (
            {"name": "app", "application_database_url": "postgresql://u@h:5432/shop?x=1"},
            "postgresql://u@h:5432/shop_dbos_sys?x=1",
        ),
        (
            {
                "name": "app",
                "application_database_url": "postgresql://u@h/shop",
                "system_database_url": "postgresql://u@h/sys",
            },
            "postgresql://u@h/sys",
        ),
    ],
)
def test_the_system_database_url_is_derived_as_dbos_does(
    config: dict[str, Any], system_url: str
) -> None:
    DBOS(config=config)  # type: ignore[arg-type]
    assert lifecycle.configured().settings.system_database_url == system_url


def test_run_migrations_false_only_verifies(durable_database_url: str) -> None:
    config: Any = {
        "name": NAME,
        "system_database_url": durable_database_url,
        "run_migrations": False,
    }
    if durable_database_url.startswith("sqlite"):
        DBOS(config=config)
        with pytest.raises(DBOSInitializationError, match="does not exist"):
            DBOS.launch()  # the file is not created
        DBOS.destroy()
    else:
        # A schema one migration behind (the fixture migrated it fully).
        import sqlalchemy as sa

        from transact._store.sql.schema.migrations import LATEST_VERSION, MIGRATIONS

        engine = sa.create_engine(durable_database_url.replace("postgresql", "postgresql+psycopg"))
        with engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM transact.transact_migrations WHERE version = :v"),
                {"v": LATEST_VERSION},
            )
        engine.dispose()
        DBOS(config=config)
        with pytest.raises(DBOSInitializationError) as info:
            DBOS.launch()
        previous = MIGRATIONS[-2].version  # versions are numbered with gaps
        expected = f"at schema version {previous}, but this version of DBOS requires"
        assert expected in str(info.value)
        assert "run_migrations disabled, so it will not migrate it" in str(info.value)
        DBOS.destroy()
    run_dbos_database_migrations(durable_database_url)  # out of band
    DBOS(config=config)
    DBOS.launch()
    assert echo(8) == 8


def test_dbos_migrate_migrates_the_configured_database_without_launching(
    tmp_path: Path,
) -> None:
    with pytest.raises(DBOSException, match="requires DBOS"):
        DBOS.migrate()
    url = f"sqlite:///{tmp_path}/release.sqlite"
    config: Any = {"name": NAME, "system_database_url": url, "run_migrations": False}
    DBOS(config=config)
    DBOS.migrate()  # a release step, before any process launches
    asyncio.run(DBOS.migrate_async())  # and idempotent
    DBOS.launch()
    assert echo(9) == 9


def test_blocking_members_refuse_a_running_event_loop(url: str) -> None:
    async def misuse() -> None:
        with pytest.raises(RuntimeError) as info:
            DBOS.get_workflow_status("any")
        assert str(info.value) == (
            "get_workflow_status() was called while an event loop is running. Use await "
            "get_workflow_status_async(...) instead."
        )
        with pytest.raises(RuntimeError, match=r"^send\(\) was called while"):
            DBOS.send("any", "message")
        assert await DBOS.get_workflow_status_async("any") is None  # the twin works
        handle = DBOS.start_workflow(echo, 9)  # as in DBOS, start_workflow is not guarded
        assert await asyncio.to_thread(handle.get_result) == 9

    asyncio.run(misuse())
    assert DBOS.get_workflow_status("any") is None  # off the loop the same call works
