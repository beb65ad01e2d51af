"""Steps: run user code once (with retries) and record its outcome in one write."""

from __future__ import annotations

from typing import Any

from transact._core.effects import Effect, RunStep
from transact._runtime.clock import now_ms
from transact._runtime.env import Performer
from transact._runtime.recording import record_outcome
from transact._runtime.state import WorkflowState
from transact._runtime.step_runner import run_attempts


def execute_step(state: WorkflowState, function_id: int, effect: RunStep[Any]) -> Any:
    """Run the step body, retrying as its policy allows, then record the outcome."""
    started = now_ms(state.env.clock)
    result, error = run_attempts(state, function_id, effect)
    return record_outcome(state, function_id, effect.name, started, result, error)


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    RunStep: Performer(execute_step),
}
