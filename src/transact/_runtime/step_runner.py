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

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

from transact._core.effects import RunStep
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact.errors import (
    DBOSException,
    DBOSMaxStepRetriesExceeded,
    DBOSStepTimeoutError,
    DBOSWorkflowCancelledError,
)

logger = logging.getLogger("dbos")

Outcome = tuple[Any, Exception | None]

# Called with (workflow id, function id, step name) as each attempt of a step body
# starts. ``transact.testing`` counts bodies through it (did recovery run a recorded
# step again?); empty otherwise, so a step pays one falsy check.
BODY_OBSERVERS: list[Callable[[str, int, str], None]] = []


def _observe(state: WorkflowState, function_id: int, effect: RunStep[Any]) -> None:
    for observer in BODY_OBSERVERS:
        observer(state.workflow_id, function_id, effect.name)


PREEMPT_POLL_SECONDS = 0.1
"""How often a preemptible step looks at its workflow's cancellation (an in-memory flag,
set here by a cancel in this process and by the watchdog for one in another)."""


class _Attempts:
    """What the loop remembers between attempts: the errors so far."""

    def __init__(self, state: WorkflowState, effect: RunStep[Any]) -> None:
        self.state = state
        self.effect = effect
        self.errors: list[BaseException] = []

    def frame(self, function_id: int, attempt: int) -> Frame:
        """The frame of one attempt (``DBOS.step_status`` reads it)."""
        policy = self.effect.retry
        if not policy.retries_allowed:
            return Frame(self.state, step_id=function_id)
        return Frame(self.state, step_id=function_id, attempt=attempt, max_attempts=policy.attempts)

    def failed(self, attempt: int, exc: Exception, retry: bool = True) -> float | Exception:
        """Note failed ``attempt``: the seconds to wait before the next one, or the
        error to end with (at once when ``should_retry`` said no: ``retry``)."""
        policy = self.effect.retry
        if not policy.retries_allowed or not retry:
            return exc
        self.errors.append(exc)
        self.state.env.tracing.event(f"Step attempt {attempt} failed")
        logger.warning(  # DBOS's line, with the exception
            "Step being automatically retried (attempt %d of %d)",
            attempt + 1,
            policy.attempts,
            exc_info=exc,
        )
        delay = policy.next_delay(attempt)
        if delay is None:
            return DBOSMaxStepRetriesExceeded(self.effect.name, policy.attempts, self.errors)
        return delay

    def cancelled(self) -> DBOSWorkflowCancelledError:
        """The error a cancellation during a pause ends the workflow with."""
        return DBOSWorkflowCancelledError(
            f"Workflow {self.state.workflow_id} is cancelled. Aborting function."
        )

    def should_retry(self, exc: Exception) -> bool:
        """The sync step's ``should_retry`` verdict (True without one)."""
        predicate = self.effect.should_retry
        if predicate is None or not self.effect.retry.retries_allowed:
            return True
        return bool(predicate(exc))

    async def should_retry_async(self, exc: Exception) -> bool:
        """``should_retry`` of an async step, which may be a coroutine function."""
        predicate = self.effect.should_retry
        if predicate is None or not self.effect.retry.retries_allowed:
            return True
        verdict = predicate(exc)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        return bool(verdict)


class _Failed(Exception):
    """Carries a step's final error out of its span, so the span records it."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


def run_attempts(state: WorkflowState, function_id: int, effect: RunStep[Any]) -> Outcome:
    """Run a sync step body as its policy allows; its result or its final error (in
    the step's span when tracing is on, its duration counted for ``/metrics``)."""
    env = state.env
    began = time.perf_counter()
    try:
        if not env.tracing.enabled:  # tracing off costs this test and nothing more
            return _run_attempts(state, function_id, effect)
        try:
            with env.tracing.operation("step", effect.name, state.workflow_id):
                result, error = _run_attempts(state, function_id, effect)
                if error is not None:
                    raise _Failed(error)
                return result, None
        except _Failed as failed:
            return None, failed.error
    finally:
        env.metrics.step_finished(effect.name, time.perf_counter() - began)


async def run_attempts_async(
    state: WorkflowState, function_id: int, effect: RunStep[Any]
) -> Outcome:
    """``run_attempts`` for an async step body, awaited on the event loop (each attempt
    under its ``timeout_seconds``, and stopped when a ``preemptible`` step's workflow is
    cancelled)."""
    env = state.env
    began = time.perf_counter()
    try:
        if not env.tracing.enabled:
            return await _run_attempts_async(state, function_id, effect)
        try:
            with env.tracing.operation("step", effect.name, state.workflow_id):
                result, error = await _run_attempts_async(state, function_id, effect)
                if error is not None:
                    raise _Failed(error)
                return result, None
        except _Failed as failed:
            return None, failed.error
    finally:
        env.metrics.step_finished(effect.name, time.perf_counter() - began)


def _run_attempts(state: WorkflowState, function_id: int, effect: RunStep[Any]) -> Outcome:
    if effect.should_retry is not None and inspect.iscoroutinefunction(effect.should_retry):
        raise DBOSException(
            f"Step {effect.name} is sync but should_retry is async. Use an async step to "
            "pair with an async validator."
        )
    loop = _Attempts(state, effect)
    attempt = 0
    while True:
        token = enter(loop.frame(function_id, attempt))
        if BODY_OBSERVERS:
            _observe(state, function_id, effect)
        try:
            return effect.func(*effect.args, **effect.kwargs), None
        except Exception as exc:
            next_step = loop.failed(attempt, exc, loop.should_retry(exc))
        finally:
            leave(token)
        if isinstance(next_step, Exception):
            return None, next_step
        if state.env.clock.wait(state.cancelled, next_step):
            raise loop.cancelled()
        attempt += 1


async def _run_attempts_async(
    state: WorkflowState, function_id: int, effect: RunStep[Any]
) -> Outcome:
    loop = _Attempts(state, effect)
    attempt = 0
    while True:
        token = enter(loop.frame(function_id, attempt))
        if BODY_OBSERVERS:
            _observe(state, function_id, effect)
        try:
            return await _attempt(state, effect), None
        except Exception as exc:
            next_step = loop.failed(attempt, exc, await loop.should_retry_async(exc))
        finally:
            leave(token)
        if isinstance(next_step, Exception):
            return None, next_step
        if await state.env.clock.wait_async(state.cancelled, next_step):
            raise loop.cancelled()
        attempt += 1


async def _attempt(state: WorkflowState, effect: RunStep[Any]) -> Any:
    """One attempt of an async step body, under its timeout and preemption."""
    body = effect.func(*effect.args, **effect.kwargs)
    if effect.timeout_seconds is None and not effect.preemptible:
        return await body
    task: asyncio.Future[Any] = asyncio.ensure_future(body)
    deadline = None if effect.timeout_seconds is None else time.monotonic() + effect.timeout_seconds
    try:
        while True:
            wait = PREEMPT_POLL_SECONDS if effect.preemptible else None
            if deadline is not None:
                left = max(deadline - time.monotonic(), 0.0)
                wait = left if wait is None else min(wait, left)
            done, _ = await asyncio.wait({task}, timeout=wait)
            if done:
                return task.result()
            if effect.preemptible and state.cancelled.is_set():
                raise DBOSWorkflowCancelledError(
                    f"Workflow {state.workflow_id} is cancelled. Aborting preemptible step."
                )
            if deadline is not None and time.monotonic() >= deadline:
                assert effect.timeout_seconds is not None
                raise DBOSStepTimeoutError(effect.name, effect.timeout_seconds)
    finally:
        if not task.done():
            task.cancel()
