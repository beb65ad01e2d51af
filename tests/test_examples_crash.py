"""Every example workflow recovers from a crash at every checkpoint, on every store."""

from __future__ import annotations

import importlib.util
import inspect
import pathlib
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from transact import DBOS
from transact._runtime.registry import REGISTRY, spec_of
from transact._runtime.scheduler import SCHEDULES
from transact.testing import crash_everywhere

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"
# Loaded once (queues and schedules are declared at import); workflows of the same name
# in two examples (``process_order``) are registered again before each use.
LOADED: dict[str, ModuleType] = {}


@pytest.fixture
def load(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Import an example afresh (its workflows replace any of the same name), with its
    files in ``tmp_path``; an example that configures DBOS at import is unconfigured."""
    monkeypatch.setenv("LEDGER", str(tmp_path / "ledger.txt"))
    monkeypatch.setattr(sys, "argv", ["example", "--dir", str(tmp_path)])

    def load_example(name: str) -> ModuleType:
        if name in LOADED:  # its queues exist already: register its workflows again
            for value in vars(LOADED[name]).values():
                found = spec_of(value) if inspect.isfunction(value) else None
                if found is not None:
                    REGISTRY.add_workflow(found)
            return LOADED[name]
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        DBOS.destroy()  # the web examples create DBOS(config=...) at import
        LOADED[name] = module
        return module

    scheduled = {schedule.name for schedule in SCHEDULES.all()}
    yield load_example
    DBOS.destroy()
    # An example's @DBOS.scheduled cron would fire in every runtime launched later in the
    # session (the registry is process-wide): forget the schedules loading added.
    for schedule in SCHEDULES.all():
        if schedule.name not in scheduled:
            SCHEDULES.remove(schedule.name)


def test_quickstart(load: Any, system_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    quickstart = load("quickstart")
    # Its steps pause 0.2 s to look like remote calls; not here.
    monkeypatch.setattr(quickstart, "time", SimpleNamespace(sleep=lambda seconds: None))
    result = crash_everywhere(quickstart.process_order, "order-1", 4200, store=system_database_url)
    assert result == "order-1: charged 42.00 EUR, tracking ZX-1234"


def test_queues(load: Any, system_database_url: str) -> None:
    queues = load("queues")
    assert crash_everywhere(queues.make_thumbnail, "img-1", store=system_database_url) == (
        "thumb-img-1"
    )
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    crash_everywhere(queues.sweep, now, now, store=system_database_url)


def test_progress_stream(load: Any, system_database_url: str) -> None:
    progress = load("progress_stream")
    rows = list(range(10))
    assert crash_everywhere(progress.import_rows, rows, 4, store=system_database_url) == 10


def test_request_response(load: Any, system_database_url: str) -> None:
    example = load("request_response")
    # Nobody asks: the service's recv times out (in virtual time) and it answers none.
    assert crash_everywhere(example.quote_service, 2, store=system_database_url) == 0
    # No service runs: each client's send fails the same way with or without a crash.
    for client, args in ((example.client, ("apple", 3)), (example.fx_client, ("plum", 5, "x"))):
        with pytest.raises(Exception, match="quote-service"):
            crash_everywhere(client, *args, store=system_database_url)


def test_operations(load: Any, system_database_url: str) -> None:
    operations = load("operations")
    operations.release_payment.set()
    assert crash_everywhere(operations.process_order, "o-1", store=system_database_url) == [
        "reserved",
        "charged",
        "shipped",
    ]
    assert crash_everywhere(operations.reminder, 3, store=system_database_url) == "reminded"
    assert crash_everywhere(operations.batch, 2, store=system_database_url) == 2


def test_fastapi_app(load: Any, system_database_url: str) -> None:
    pytest.importorskip("fastapi")
    app = load("fastapi_app")
    result = crash_everywhere(app.checkout, "7", 12.5, store=system_database_url)
    assert result["receipt"] == "charged 12.50 for order 7"
    assert crash_everywhere(app.refund, "7", store=system_database_url) == "refunded order 7"


def test_flask_app(load: Any, system_database_url: str) -> None:
    pytest.importorskip("flask")
    app = load("flask_app")
    with app.app.test_request_context("/orders/7?amount=12.5", method="POST"):
        result = crash_everywhere(app.checkout, "7", 12.5, store=system_database_url)
    assert "7" in str(result)
