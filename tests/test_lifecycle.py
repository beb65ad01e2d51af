"""Configuration, launch, destroy and reset."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from tests import workflows_app as app
from transact import DBOS, DBOSConfig
from transact._facade import lifecycle
from transact._runtime.registry import REGISTRY
from transact.errors import DBOSInitializationError


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    DBOS.destroy()
    app.reset()
    yield
    app.gate.set()
    DBOS.destroy()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"name": "app", "system_databse_url": "sqlite:///x"},
            "unknown config key 'system_databse_url'; did you mean 'system_database_url'",
        ),
        ({"name": "x"}, "Invalid app name x.  App names must be between 3 and 30 characters"),
        ({"name": "Has Spaces"}, "Invalid app name Has Spaces"),
        ({}, "Configuration must specify an application name"),
        ({"name": "app", "system_database_url": "mysql://db"}, "invalid system_database_url"),
        ({"name": "app", "system_database_url": "not a url"}, "invalid system_database_url"),
        (
            {"name": "app", "notification_listener_polling_interval_sec": 0},
            "finite number at least 0.001 seconds, got 0",
        ),
        ({"name": "app", "sys_db_pool_size": 0}, "must be positive"),
    ],
)
def test_bad_config_is_refused_up_front(config: dict[str, Any], message: str) -> None:
    with pytest.raises(DBOSInitializationError, match=message):
        DBOS(config=config)  # type: ignore[arg-type]


def test_default_database_is_sqlite_named_after_the_app(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    DBOS(config={"name": "my-app"})
    DBOS.launch()
    assert app.two_steps(1) == 12
    assert (tmp_path / "my_app.sqlite").exists()


def test_unreachable_postgres_names_the_url_without_password() -> None:
    DBOS(config={"name": "app", "system_database_url": "postgresql://me:s3cret@127.0.0.1:1/db"})
    with pytest.raises(DBOSInitializationError) as info:
        DBOS.launch()
    assert "127.0.0.1:1" in str(info.value)
    assert "s3cret" not in str(info.value)


def test_constructor_is_a_singleton_and_launch_is_idempotent() -> None:
    config: DBOSConfig = {"name": "app", "system_database_url": "memory://singleton"}
    first = DBOS(config=config)
    assert DBOS(config={"name": "ignored"}) is first
    DBOS.launch()
    DBOS.launch()
    assert app.two_steps(2) == 13


def test_destroy_waits_for_running_workflows_up_to_the_timeout() -> None:
    DBOS(config={"name": "app", "system_database_url": "memory://destroy-wait"})
    DBOS.launch()
    handle = DBOS.start_workflow(app.gated)
    import threading

    threading.Timer(0.1, app.gate.set).start()
    DBOS.destroy(workflow_completion_timeout_sec=5)
    DBOS(config={"name": "app", "system_database_url": "memory://destroy-wait"})
    DBOS.launch()
    status = DBOS.get_workflow_status(handle.workflow_id)
    assert status is not None and status.status == "SUCCESS"


def test_workflow_interrupted_by_destroy_is_recovered_at_next_launch(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/sys.sqlite"
    DBOS(config={"name": "app", "system_database_url": url})
    DBOS.launch()
    handle = DBOS.start_workflow(app.gated)
    while app.calls["gate"] == 0:
        pass
    DBOS.destroy()  # the step is still running: nothing it does after this is written
    app.gate.set()
    DBOS(config={"name": "app", "system_database_url": url})
    DBOS.launch()
    assert (
        DBOS.retrieve_workflow(handle.workflow_id).get_result(polling_interval_sec=0.01) == "opened"
    )
    assert app.calls["gate"] == 2  # interrupted before its checkpoint: it ran again
    assert app.calls["add"] == 1


def test_reset_system_database(system_database_url: str) -> None:
    DBOS(config={"name": "app", "system_database_url": system_database_url})
    DBOS.launch()
    app.two_steps(1)
    with pytest.raises(AssertionError, match="cannot be reset after DBOS is launched"):
        DBOS.reset_system_database()
    DBOS.destroy()
    DBOS(config={"name": "app", "system_database_url": system_database_url})
    DBOS.reset_system_database()
    DBOS.launch()
    assert DBOS.list_workflows() == []


def test_destroy_registry_forgets_workflows() -> None:
    from transact._runtime.classes import CLASSES
    from transact._runtime.queue_runner import QUEUES
    from transact._runtime.registry import REGISTRY
    from transact._runtime.scheduler import SCHEDULES

    # Other test modules declared these at import: put every registry back afterwards.
    registries = (REGISTRY, CLASSES, QUEUES, SCHEDULES)
    saved = [
        {k: v.copy() if isinstance(v, (dict, list, set)) else v for k, v in vars(r).items()}
        for r in registries
    ]
    try:
        DBOS.destroy(destroy_registry=True)
        assert REGISTRY.workflow("two_steps") is None
        assert QUEUES.all() == []
    finally:
        for registry, state in zip(registries, saved, strict=True):
            vars(registry).update(state)


def test_the_version_reads_each_workflow_s_source_once_per_process(
    system_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Launching hashes every registered workflow's source; reading a source tokenizes
    its file, so it is read at the first launch only, however often the process
    launches, and the version stays the same."""
    monkeypatch.setattr(lifecycle, "_SOURCES", weakref.WeakKeyDictionary())
    reads: list[Any] = []
    real = inspect.getsource

    def counted(obj: Any) -> str:
        reads.append(obj)
        return real(obj)

    monkeypatch.setattr(inspect, "getsource", counted)
    versions, reads_per_launch = [], []
    for _ in range(3):
        DBOS(config={"name": "versioned", "system_database_url": system_database_url})
        DBOS.launch()
        versions.append(DBOS.application_version)
        DBOS.destroy()
        reads_per_launch.append(len(reads))
    assert len(set(versions)) == 1 and versions[0]
    registered = {spec.func for spec in REGISTRY.workflows()}
    assert set(reads) == registered and len(reads) == len(registered)
    assert reads_per_launch == [len(registered)] * 3  # none after the first launch
