"""Effects are data: they compare by value, payloads included, and scripts can use them."""

from __future__ import annotations

from typing import Any

import pytest

import transact.effects
from transact import fx
from transact._core import effects as core_effects
from transact._core import effects_more
from transact._runtime.performers import PERFORMERS
from transact.effects import (
    CancelWorkflow,
    DeleteWorkflow,
    ForkWorkflow,
    GetAllEvents,
    GetStatus,
    ListWorkflows,
    ListWorkflowSteps,
    Send,
    SetEvent,
    WaitFirst,
    WorkflowQuery,
    WriteStream,
)
from transact.testing import run_program


def test_payloads_take_part_in_equality() -> None:
    assert Send("w", "hello", "t") == Send("w", "hello", "t")
    assert Send("w", "hello", "t") != Send("w", "bye", "t")
    assert SetEvent("k", 1) != SetEvent("k", 2)
    assert WriteStream("k", [1]) == WriteStream("k", [1])
    assert WriteStream("k", [1]) != WriteStream("k", [2])


def test_unhashable_payloads_are_allowed() -> None:
    effect = Send("w", {"a": [1, 2]})
    assert effect == Send("w", {"a": [1, 2]})
    # The payload is left out of the hash, so such an effect can still be hashed.
    assert hash(effect) == hash(Send("w", {"a": [1, 2]}))
    assert len({effect, Send("w", {"b": 1})}) == 2


def test_management_effects_compare_by_what_they_do() -> None:
    assert GetStatus("a") == GetStatus("a")
    assert GetStatus("a") != GetStatus("b")
    assert GetStatus("a") != GetStatus("a", must_exist=True)
    assert CancelWorkflow("a") != CancelWorkflow("b")
    assert CancelWorkflow("a") != CancelWorkflow("a", cancel_children=True)
    assert effects_more.CancelWorkflows(("a",)).checkpoint_name == "DBOS.cancelWorkflow"
    assert effects_more.ResumeWorkflows(("a",)).checkpoint_name == "DBOS.resumeWorkflow"
    assert effects_more.DeleteWorkflows(("a",)).checkpoint_name == "DBOS.deleteWorkflow"
    assert ForkWorkflow("a", 2) != ForkWorkflow("a", 2, queue_name="q")
    assert DeleteWorkflow("a") != DeleteWorkflow("a", delete_children=True)
    assert ForkWorkflow("a", 2) != ForkWorkflow("a", 3)
    assert WaitFirst(("a", "b"), 1.0) == WaitFirst(("a", "b"), 5.0)
    assert ListWorkflows(WorkflowQuery(names=("x",))) != ListWorkflows(WorkflowQuery())
    assert ListWorkflowSteps("a") != ListWorkflowSteps("a", load_output=False)
    assert GetAllEvents("a") != GetAllEvents("b")


def test_checkpoint_names_are_dbos_names() -> None:
    assert GetStatus("a").checkpoint_name == "DBOS.getStatus"
    assert ListWorkflows(WorkflowQuery()).checkpoint_name == "DBOS.listWorkflows"
    assert ListWorkflows(WorkflowQuery(), queued=True).checkpoint_name == (
        "DBOS.listQueuedWorkflows"
    )
    assert ListWorkflowSteps("a").checkpoint_name == "DBOS.listWorkflowSteps"
    assert GetAllEvents("a").checkpoint_name == "DBOS.get_events"
    assert WaitFirst(("a",)).checkpoint_name == "DBOS.waitFirst"
    assert CancelWorkflow("a").checkpoint_name == "DBOS.cancelWorkflow"
    assert ForkWorkflow("a", 1).checkpoint_name == "DBOS.forkWorkflow"


def relay(source: str, target: str) -> fx.Program[dict[str, Any]]:
    events = yield from fx.get_all_events(source)
    yield from fx.send(target, {"events": events}, "relay")
    return events


def test_run_program_checks_what_was_sent() -> None:
    events = {"k": [1, 2]}
    script = [
        (GetAllEvents("src"), events),
        (Send("dst", {"events": events}, "relay"), None),
    ]
    assert run_program(relay("src", "dst"), script) == events
    wrong = [
        (GetAllEvents("src"), events),
        (Send("dst", {"events": {}}, "relay"), None),
    ]
    with pytest.raises(AssertionError):
        run_program(relay("src", "dst"), wrong)


def test_every_effect_is_public_and_has_exactly_one_performer() -> None:
    """Adding an effect to the core is enough to make it public; forgetting its handler
    rows fails here rather than at the first workflow that issues it."""
    effect_types = {
        cls
        for module in (core_effects, effects_more)
        for name in module.__all__
        if isinstance(cls := getattr(module, name), type)
        and issubclass(cls, core_effects.Effect)
        and cls is not core_effects.Effect
    }
    assert effect_types == set(PERFORMERS)
    for module in (core_effects, effects_more):
        assert set(module.__all__) <= set(transact.effects.__all__)
        assert all(
            getattr(transact.effects, name) is getattr(module, name) for name in module.__all__
        )
