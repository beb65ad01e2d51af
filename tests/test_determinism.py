"""Determinism beyond names: each checkpoint records a digest of its operation's
arguments, in the same write; a replay with other arguments warns, or raises
``NondeterminismError`` under ``strict_determinism``."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest

from transact import DBOS, SetWorkflowID
from transact._core.digest import arguments, digest
from transact._core.effects import RunStep, Send, Sleep
from transact._facade.launched import runtime
from transact.errors import NondeterminismError
from transact.testing import CrashEverywhereError, crash_everywhere, launched, replay

price = [10]


@DBOS.step()
def charge(cents: int) -> str:
    return f"charged {cents}"


@DBOS.step()
def note(attempt: int) -> str:
    return "noted"


@DBOS.workflow()
def digest_checkout(order: str) -> str:
    receipt = charge(price[0])  # the argument comes from outside the workflow's inputs
    DBOS.sleep(1)
    DBOS.send(order, "done", "receipts")
    return receipt


def run(url: str, **config: Any) -> str:
    with SetWorkflowID("o-1"):
        return digest_checkout("o-1")


def test_every_checkpoint_records_its_arguments_digest(system_database_url: str) -> None:
    price[0] = 10
    with launched({"name": "digests", "system_database_url": system_database_url}):
        assert run(system_database_url) == "charged 10"
        recorded = runtime().store.load_checkpoints("o-1")
    assert [c.function_name for c in recorded] == ["charge", "DBOS.sleep", "DBOS.send"]
    assert recorded[0].args_digest == digest(RunStep("charge", charge, (10,)))
    assert recorded[1].args_digest == digest(Sleep(1.0))
    assert recorded[2].args_digest == digest(Send("o-1", "done", "receipts"))


def test_changed_arguments_warn_by_default(
    system_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    price[0] = 10
    with launched({"name": "digests", "system_database_url": system_database_url}):
        run(system_database_url)
        price[0] = 12
        with caplog.at_level(logging.WARNING, logger="transact"):
            assert replay("o-1") == "charged 10"  # the recorded outcome is replayed
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith(
        "Workflow o-1 step 1 (charge) was recorded with other arguments (digest "
        f"{digest(RunStep('charge', charge, (10,)))}) than it is called with now (digest "
        f"{digest(RunStep('charge', charge, (12,)))}: {{'args': (12,), 'kwargs': {{}}}}); "
        "the recorded outcome is replayed."
    )


def test_strict_determinism_raises(system_database_url: str) -> None:
    price[0] = 10
    config: Any = {
        "name": "digests",
        "system_database_url": system_database_url,
        "strict_determinism": True,
    }
    with launched(config):
        run(system_database_url)
        price[0] = 11
        with pytest.raises(NondeterminismError) as caught:
            replay("o-1")
    recorded = digest(RunStep("charge", charge, (10,)))
    issued = digest(RunStep("charge", charge, (11,)))
    assert str(caught.value) == (  # DBOS's text, the arguments' digests beside the names
        f"DBOS Error 11: During execution of workflow o-1 step 1, function charge with "
        f"arguments {recorded} was recorded when charge with arguments {issued} was "
        "expected. Check that your workflow is deterministic."
    )


def test_crash_everywhere_catches_a_changed_argument() -> None:
    calls = [0]

    @DBOS.workflow()
    def counts_into_a_step(order: str) -> str:
        calls[0] += 1  # outside a step: a recovery sees another value
        return note(calls[0])

    with pytest.raises(CrashEverywhereError) as caught:
        crash_everywhere(counts_into_a_step, "o")
    assert str(caught.value).startswith(
        "counts_into_a_step('o') crashed after step 1 `note`, recovery raised "
        "DBOSUnexpectedStepError: DBOS Error 11: During execution of workflow "
    )
    assert "function note with arguments" in str(caught.value)


def test_digests_are_stable_across_processes() -> None:
    effect = Send("dest", {"a": (3.5, None), "b": [1, 2]}, "topic")
    code = (
        "from transact._core.digest import digest; from transact._core.effects import Send;"
        "print(digest(Send('dest', {'a': (3.5, None), 'b': [1, 2]}, 'topic')))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert other.stdout.strip() == digest(effect)


def test_an_object_without_a_stable_text_counts_by_its_type() -> None:
    class Opaque:
        pass

    assert digest(RunStep("s", charge, (Opaque(),))) == digest(RunStep("s", charge, (Opaque(),)))
    assert "func" not in arguments(RunStep("s", charge, (1,)))
    assert digest(Sleep(1.0)) != digest(Sleep(2.0))
