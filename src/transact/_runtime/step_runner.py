"""The step attempt loop, shared by the sync and the asyncio drivers.

Both run the policy's schedule (``RetryPolicy.next_delay``) the same way: each failed
attempt is logged and collected, the pause between attempts is the clock's wait on the
workflow's cancellation event (so a fake clock skips it and a cancellation cuts it
short), and running out of attempts gives ``DBOSMaxStepRetriesExceeded``. Only the call
of the body and the wait differ: plain in ``run_attempts``, awaited in
``run_attempts_async``. Recording the outcome is the caller's job.

Each run is timed for ``/metrics`` (``env.metrics``) and, with tracing on, runs inside a
step span (``env.tracing``); each failed attempt adds a span event.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

from transact._core.effects import RunStep
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact.errors import DBOSMaxStepRetriesExceeded, DBOSWorkflowCancelledError

logger = logging.getLogger("transact")

Outcome = tuple[Any, Exception | None]


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
        self.state.env.tracing.event(f"Step attempt {attempt} failed")
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
    env = state.env
    token = enter(Frame(state, step_id=function_id))
    began = perf_counter()
    try:
        if not env.tracing.enabled:  # tracing off costs this test and nothing more
            return _attempts(_Attempts(state, effect)), None
        # The final error is raised inside the span, so the span records it.
        with env.tracing.operation("step", effect.name, state.workflow_id):
            return _attempts(_Attempts(state, effect)), None
    except Exception as exc:
        return None, exc
    finally:
        env.metrics.step_finished(effect.name, perf_counter() - began)
        leave(token)


def _attempts(loop: _Attempts) -> Any:
    state, effect = loop.state, loop.effect
    attempt = 0
    while True:
        try:
            return effect.func(*effect.args, **effect.kwargs)
        except Exception as exc:
            next_step = loop.failed(attempt, exc)
        if isinstance(next_step, Exception):
            raise next_step
        if state.env.clock.wait(state.cancelled, next_step):
            raise loop.cancelled()
        attempt += 1


async def run_attempts_async(
    state: WorkflowState, function_id: int, effect: RunStep[Any]
) -> Outcome:
    """``run_attempts`` for an async step body, awaited on the event loop."""
    env = state.env
    token = enter(Frame(state, step_id=function_id))
    began = perf_counter()
    try:
        if not env.tracing.enabled:
            return await _attempts_async(_Attempts(state, effect)), None
        with env.tracing.operation("step", effect.name, state.workflow_id):
            return await _attempts_async(_Attempts(state, effect)), None
    except Exception as exc:
        return None, exc
    finally:
        env.metrics.step_finished(effect.name, perf_counter() - began)
        leave(token)


async def _attempts_async(loop: _Attempts) -> Any:
    state, effect = loop.state, loop.effect
    attempt = 0
    while True:
        try:
            return await effect.func(*effect.args, **effect.kwargs)
        except Exception as exc:
            next_step = loop.failed(attempt, exc)
        if isinstance(next_step, Exception):
            raise next_step
        if await state.env.clock.wait_async(state.cancelled, next_step):
            raise loop.cancelled()
        attempt += 1
