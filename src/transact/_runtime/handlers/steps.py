"""Steps: run user code once (with retries) and record its outcome in one write."""

from __future__ import annotations

import logging
import threading
from typing import Any

from transact._core.checkpoint import Checkpoint
from transact._core.effects import RunStep
from transact._runtime.clock import now_ms
from transact._runtime.interpreter import handler, record
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact._serialization import serialize_error, serialize_value
from transact.errors import DBOSMaxStepRetriesExceeded, DBOSWorkflowCancelledError

logger = logging.getLogger("transact")


@handler(RunStep)
def execute_step(state: WorkflowState, function_id: int, effect: RunStep[Any]) -> Any:
    """Run the step body, retrying as its policy allows, then record the outcome."""
    env = state.env
    started = now_ms(env.clock)
    token = enter(Frame(state, step_id=function_id))
    try:
        result, error = _attempts(state, effect)
    finally:
        leave(token)
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


def _attempts(state: WorkflowState, effect: RunStep[Any]) -> tuple[Any, Exception | None]:
    policy = effect.retry
    errors: list[BaseException] = []
    for attempt in range(policy.attempts):
        try:
            return effect.func(*effect.args, **effect.kwargs), None
        except Exception as exc:
            if not policy.retries_allowed:
                return None, exc
            errors.append(exc)
            logger.warning(
                "Step %s of workflow %s failed (attempt %d of %d): %r",
                effect.name,
                state.workflow_id,
                attempt + 1,
                policy.attempts,
                exc,
            )
            if attempt + 1 < policy.attempts:
                _pause(state, policy.delay_after(attempt))
    return None, DBOSMaxStepRetriesExceeded(effect.name, policy.attempts, errors)


def _pause(state: WorkflowState, seconds: float) -> None:
    """Wait between attempts; a cancellation ends the wait (and the workflow)."""
    cancelled: threading.Event = state.cancelled
    if state.env.clock.wait(cancelled, seconds):
        raise DBOSWorkflowCancelledError(f"Workflow {state.workflow_id} was cancelled")
