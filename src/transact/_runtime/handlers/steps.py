"""Steps: run user code once (with retries) and record its outcome in one write."""

from __future__ import annotations

from typing import Any

from transact._core.checkpoint import Checkpoint
from transact._core.effects import RunStep
from transact._runtime.clock import now_ms
from transact._runtime.interpreter import handler, record
from transact._runtime.state import WorkflowState
from transact._runtime.step_runner import run_attempts
from transact._serialization import serialize_error, serialize_value


@handler(RunStep)
def execute_step(state: WorkflowState, function_id: int, effect: RunStep[Any]) -> Any:
    """Run the step body, retrying as its policy allows, then record the outcome."""
    env = state.env
    started = now_ms(env.clock)
    result, error = run_attempts(state, function_id, effect)
    return record_outcome(state, function_id, effect.name, started, result, error)


def record_outcome(
    state: WorkflowState,
    function_id: int,
    name: str,
    started: int,
    result: Any,
    error: Exception | None,
) -> Any:
    """Record a step's outcome in one write; return its result or raise its error.

    Shared by steps, management calls, failed transactions and the asyncio driver.
    """
    env = state.env
    output_text: str | None = None
    error_text: str | None = None
    if error is None:
        try:
            output_text = serialize_value(env.serializer, result, f"the result of {name}")
        except Exception as exc:
            error = exc
    if error is not None:
        error_text = serialize_error(env.serializer, error)
    record(
        state,
        Checkpoint(
            function_id,
            name,
            output=output_text,
            error=error_text,
            started_at_epoch_ms=started,
            completed_at_epoch_ms=now_ms(env.clock),
        ),
    )
    if error is not None:
        raise error
    return result
