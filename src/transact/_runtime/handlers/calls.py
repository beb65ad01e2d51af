"""Management calls made inside a workflow, recorded like steps."""

from __future__ import annotations

from typing import Any

from transact._core.effects import Call
from transact._runtime.clock import now_ms
from transact._runtime.recording import record_outcome
from transact._runtime.state import WorkflowState


def execute_call(state: WorkflowState, function_id: int, effect: Call[Any]) -> Any:
    """Run the call and record its result (or error)."""
    started = now_ms(state.env.clock)
    try:
        result, error = effect.func(), None
    except Exception as exc:
        result, error = None, exc
    return record_outcome(state, function_id, effect.name, started, result, error)
