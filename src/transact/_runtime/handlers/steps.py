"""Steps: run user code once (with retries) and record its outcome in one write."""

from __future__ import annotations

import logging
import threading
from typing import Any

from transact._core.effects import RunStep
from transact._runtime.clock import now_ms
from transact._runtime.recording import record_outcome
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact.errors import DBOSMaxStepRetriesExceeded, DBOSWorkflowCancelledError

logger = logging.getLogger("transact")


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
