"""The asyncio driver: ``perform_async`` over the same ``decide`` and handlers.

Async step bodies are awaited on the event loop; everything that blocks (store writes,
durable waits) runs in a worker thread via ``asyncio.to_thread``, which carries the
context variables (the running workflow's frame) along. Function ids are issued before
the first ``await``, so effects started together with ``asyncio.gather`` get ids in call
order, deterministically.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, TypeVar

from transact._core.decide import Execute, decide
from transact._core.effects import Effect, RunStep
from transact._runtime.clock import now_ms
from transact._runtime.interpreter import perform_at
from transact._runtime.recording import check_cancelled, record_outcome
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact.errors import DBOSMaxStepRetriesExceeded

T = TypeVar("T")


async def perform_async(state: WorkflowState, effect: Effect[T]) -> T:
    """Perform ``effect`` without blocking the event loop."""
    check_cancelled(state)
    function_id = state.issue(effect.ids)
    if (
        isinstance(effect, RunStep)
        and inspect.iscoroutinefunction(effect.func)
        and isinstance(decide(state.log, function_id, effect), Execute)
    ):
        result: T = await _execute_async_step(state, function_id, effect)
        return result
    return await asyncio.to_thread(perform_at, state, function_id, effect)


async def _execute_async_step(state: WorkflowState, function_id: int, effect: RunStep[Any]) -> Any:
    env = state.env
    started = now_ms(env.clock)
    policy = effect.retry
    errors: list[BaseException] = []
    result: Any = None
    error: Exception | None = None
    token = enter(Frame(state, step_id=function_id))
    try:
        for attempt in range(policy.attempts):
            try:
                result, error = await effect.func(*effect.args, **effect.kwargs), None
                break
            except Exception as exc:
                error = exc
                if not policy.retries_allowed:
                    break
                errors.append(exc)
                if attempt + 1 < policy.attempts:
                    await asyncio.sleep(policy.delay_after(attempt))
        else:
            error = DBOSMaxStepRetriesExceeded(effect.name, policy.attempts, errors)
    finally:
        leave(token)
    return await asyncio.to_thread(
        record_outcome, state, function_id, effect.name, started, result, error
    )
