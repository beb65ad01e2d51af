"""The step attempt loop, shared by the sync and the asyncio drivers.

Both run the policy's schedule (``RetryPolicy.next_delay``) the same way: each failed
attempt is logged and collected, the pause between attempts is the clock's wait on the
workflow's cancellation event (so a fake clock skips it and a cancellation cuts it
short), and running out of attempts gives ``DBOSMaxStepRetriesExceeded``. Only the call
of the body and the wait differ: plain in ``run_attempts``, awaited in
``run_attempts_async``. Recording the outcome is the caller's job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from transact._core.effects import RunStep
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact.errors import DBOSMaxStepRetriesExceeded, DBOSWorkflowCancelledError

logger = logging.getLogger("transact")

Outcome = tuple[Any, Exception | None]

# Called with (workflow id, function id, step name) as each attempt of a step body
# starts. ``transact.testing`` counts bodies through it (did recovery run a recorded
# step again?); empty otherwise, so a step pays one falsy check.
BODY_OBSERVERS: list[Callable[[str, int, str], None]] = []


def _observe(state: WorkflowState, function_id: int, effect: RunStep[Any]) -> None:
    for observer in BODY_OBSERVERS:
        observer(state.workflow_id, function_id, effect.name)


class _Attempts:
    """What the loop remembers between attempts: the errors so far."""

    def __init__(self, state: WorkflowState, effect: RunStep[Any]) -> None:
        self.state = state
        self.effect = effect
        self.errors: list[BaseException] = []

    def failed(self, attempt: int, exc: Exception) -> float | Exception:
        """Note failed ``attempt``: the seconds to wait before the next one, or the
        error to end with."""
        policy = self.effect.retry
        if not policy.retries_allowed:
            return exc
        self.errors.append(exc)
        logger.warning(
            "Step %s of workflow %s failed (attempt %d of %d): %r",
            self.effect.name,
            self.state.workflow_id,
            attempt + 1,
            policy.attempts,
            exc,
        )
        delay = policy.next_delay(attempt)
        if delay is None:
            return DBOSMaxStepRetriesExceeded(self.effect.name, policy.attempts, self.errors)
        return delay

    def cancelled(self) -> DBOSWorkflowCancelledError:
        """The error a cancellation during a pause ends the workflow with."""
        return DBOSWorkflowCancelledError(f"Workflow {self.state.workflow_id} was cancelled")


def run_attempts(state: WorkflowState, function_id: int, effect: RunStep[Any]) -> Outcome:
    """Run a sync step body as its policy allows; its result or its final error."""
    loop = _Attempts(state, effect)
    token = enter(Frame(state, step_id=function_id))
    try:
        attempt = 0
        while True:
            if BODY_OBSERVERS:
                _observe(state, function_id, effect)
            try:
                return effect.func(*effect.args, **effect.kwargs), None
            except Exception as exc:
                next_step = loop.failed(attempt, exc)
            if isinstance(next_step, Exception):
                return None, next_step
            if state.env.clock.wait(state.cancelled, next_step):
                raise loop.cancelled()
            attempt += 1
    finally:
        leave(token)


async def run_attempts_async(
    state: WorkflowState, function_id: int, effect: RunStep[Any]
) -> Outcome:
    """``run_attempts`` for an async step body, awaited on the event loop."""
    loop = _Attempts(state, effect)
    token = enter(Frame(state, step_id=function_id))
    try:
        attempt = 0
        while True:
            if BODY_OBSERVERS:
                _observe(state, function_id, effect)
            try:
                return await effect.func(*effect.args, **effect.kwargs), None
            except Exception as exc:
                next_step = loop.failed(attempt, exc)
            if isinstance(next_step, Exception):
                return None, next_step
            if await state.env.clock.wait_async(state.cancelled, next_step):
                raise loop.cancelled()
            attempt += 1
    finally:
        leave(token)
