"""Recorded histories: export / import as versioned JSON (library and command line),
``replay_history`` with no database, and the golden histories of ``tests/histories``."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest

from tests import history_workflows as golden
from transact import DBOS, SetWorkflowID
from transact._runtime.registry import REGISTRY, spec_of
from transact._serialization import DefaultSerializer
from transact.errors import DBOSException
from transact.testing import (
    FakeClock,
    HistoryDivergence,
    ReplayDivergence,
    export_history,
    import_history,
    launched,
    replay_history,
)


@pytest.mark.parametrize("name", sorted(golden.RECORDINGS))
def test_golden_histories_replay_against_the_current_code(name: str) -> None:
    workflow: Any = golden.RECORDINGS[name][0]
    expected = json.loads((golden.HISTORIES / f"{name}.json").read_text())
    result = replay_history(golden.HISTORIES / f"{name}.json", workflow)
    assert repr(result) == expected["readable"]["output"]


def restore(workflow: Any) -> None:
    """Register ``workflow`` again under its name (a test replaced it)."""
    spec = spec_of(workflow)
    assert spec is not None
    REGISTRY.add_workflow(spec)


def record(url: str, workflow: Any, *args: Any, workflow_id: str) -> dict[str, Any]:
    with launched({"name": "histories", "system_database_url": url}, clock=FakeClock()):
        with SetWorkflowID(workflow_id):
            workflow(*args)
        return export_history(workflow_id)


def test_export_then_import_on_every_store(
    system_database_url: str, tmp_path: pathlib.Path
) -> None:
    document = record(system_database_url, golden.golden_parent, 2, workflow_id="p-1")
    assert document["format"] == "transact-history" and document["version"] == 1
    assert [c["function_name"] for c in document["checkpoints"]][:2] == [
        "golden_order",
        "golden_order",
    ]
    assert len(document["children"]) == 2
    assert document["children"][0]["events"]  # the child's "stage" event
    (tmp_path / "p-1.json").write_text(json.dumps(document))

    other = f"sqlite:///{tmp_path}/other.sqlite"
    with launched({"name": "histories", "system_database_url": other}):
        assert import_history(tmp_path / "p-1.json") == "p-1"
        assert DBOS.retrieve_workflow("p-1").get_result() == [
            "reserved 1 x sku-0; charged 100",
            "reserved 1 x sku-1; charged 100",
        ]
        assert DBOS.get_event("p-1-1", "stage") == "reserved"
        again = export_history("p-1")
    assert again["checkpoints"] == document["checkpoints"]
    assert replay_history(tmp_path / "p-1.json", golden.golden_parent) == [
        "reserved 1 x sku-0; charged 100",
        "reserved 1 x sku-1; charged 100",
    ]


def test_a_moved_step_is_a_structured_divergence(tmp_path: pathlib.Path) -> None:
    document = record(
        f"memory://h-{os.getpid()}-1", golden.golden_order, "fig", 2, 10, workflow_id="o"
    )

    @DBOS.workflow(name="golden_order")
    def charged_first(sku: str, quantity: int, cents: int) -> str:
        receipt = golden.charge(cents * quantity)  # moved before reserve
        return receipt + golden.reserve(sku, quantity)

    try:
        with pytest.raises(HistoryDivergence) as caught:
            replay_history(document, charged_first)
    finally:
        restore(golden.golden_order)
    found = caught.value
    assert (found.position, found.recorded, found.issued) == (1, "reserve", "charge")
    assert found.arguments["args"] == (20,)
    assert str(found).splitlines() == [
        "DBOS Error: the history diverges at position 1",
        "  the history holds: `reserve`",
        "  the code issued:   `charge`",
        "  with arguments:    {'args': (20,), 'kwargs': {}}",
    ]


def test_code_that_ends_early_or_issues_more_diverges() -> None:
    document = record(f"memory://h-{os.getpid()}-2", golden.golden_fx, 5, workflow_id="f")

    @DBOS.workflow(name="golden_fx")
    def shorter(cents: int) -> str:
        return golden.charge(cents)

    @DBOS.workflow(name="golden_fx")
    def longer(cents: int) -> str:
        receipt = golden.charge(cents)
        DBOS.sleep(60)
        DBOS.set_event("receipt", receipt)
        golden.charge(1)
        return receipt

    try:
        with pytest.raises(HistoryDivergence) as ended:
            replay_history(document, shorter)
        assert (ended.value.position, ended.value.recorded, ended.value.issued) == (
            2,
            "DBOS.sleep",
            None,
        )
        with pytest.raises(HistoryDivergence) as more:
            replay_history(document, longer)
        assert (more.value.position, more.value.recorded, more.value.issued) == (4, None, "charge")
    finally:
        restore(golden.golden_fx)


def test_a_different_result_is_a_replay_divergence() -> None:
    document = record(f"memory://h-{os.getpid()}-3", golden.golden_fx, 5, workflow_id="r")
    document["workflow"]["output"] = DefaultSerializer().serialize("charged 6")
    with pytest.raises(ReplayDivergence):
        replay_history(document, golden.golden_fx)


def test_another_format_or_version_is_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"format": "transact-history", "version": 99}))
    with pytest.raises(DBOSException, match="history version 99 is not supported"):
        replay_history(path, golden.golden_fx)
    with pytest.raises(DBOSException, match="is a history of 'golden_fx', not of 'golden_order'"):
        replay_history(golden.HISTORIES / "fx.json", golden.golden_order)


def transact(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DBOS_SYSTEM_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "transact", *args], capture_output=True, text=True, env=env
    )


@pytest.mark.slow
def test_the_command_line_exports_and_imports(
    durable_database_url: str, tmp_path: pathlib.Path
) -> None:
    document = record(durable_database_url, golden.golden_order, "kiwi", 1, 5, workflow_id="c-1")
    exported = transact("workflow", "export", "c-1", "-s", durable_database_url)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout) == json.loads(json.dumps(document))
    (tmp_path / "c-1.json").write_text(exported.stdout)
    target = f"sqlite:///{tmp_path}/imported.sqlite"
    with launched({"name": "histories", "system_database_url": target}):
        pass  # creates and migrates the target database
    loaded = transact("workflow", "import", str(tmp_path / "c-1.json"), "-s", target)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout) == {"workflow_id": "c-1"}
    missing = transact("workflow", "export", "nope", "-s", target)
    assert missing.returncode == 1 and "nope" in missing.stderr


def test_a_changed_argument_is_a_divergence_with_both_digests() -> None:
    document = record(
        f"memory://h-{os.getpid()}-4", golden.golden_order, "fig", 2, 10, workflow_id="a"
    )

    @DBOS.workflow(name="golden_order")
    def one_more(sku: str, quantity: int, cents: int) -> str:
        reserved = golden.reserve(sku, quantity + 1)  # the argument changed
        DBOS.set_event("stage", "reserved")
        DBOS.sleep(3_600)
        return f"{reserved}; {golden.charge(cents * quantity)}"

    try:
        with pytest.raises(HistoryDivergence) as caught:
            replay_history(document, one_more)
    finally:
        restore(golden.golden_order)
    found = caught.value
    assert (found.position, found.recorded, found.issued) == (1, "reserve", "reserve")
    assert found.arguments["args"] == ("fig", 3)
    assert found.recorded_digest == document["checkpoints"][0]["args_digest"]
    assert found.issued_digest is not None and found.issued_digest != found.recorded_digest
    assert str(found).splitlines()[-1] == (
        f"  argument digest:   {found.recorded_digest} recorded, {found.issued_digest} now"
    )
