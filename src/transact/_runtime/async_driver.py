"""The asyncio driver: ``perform_async`` over the same ``decide`` and handlers.

Async step bodies are awaited on the event loop, through the same attempt loop as sync
steps (``step_runner``); everything that blocks (store writes, durable waits) runs in a
worker thread via ``asyncio.to_thread``, which carries the context variables (the
running workflow's frame) along. Function ids are issued before the first ``await``, so
effects started together with ``asyncio.gather`` get ids in call order,
deterministically.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, TypeVar

from transact._core.decide import Changed, Execute, Replay, decide
from transact._core.digest import digest
from transact._core.effects import Effect, RunStep, RunTransaction
from transact._runtime.async_transactions import perform_async_transaction
from transact._runtime.clock import now_ms
from transact._runtime.interpreter import perform_at
from transact._runtime.recording import (
    arguments_changed,
    check_cancelled,
    record_outcome,
    replay_outcome,
)
from transact._runtime.state import WorkflowState
from transact._runtime.step_runner import run_attempts_async
from transact.errors import DBOSUnexpectedStepError

T = TypeVar("T")


async def perform_async(state: WorkflowState, effect: Effect[T]) -> T:
    """Perform ``effect`` without blocking the event loop."""
    check_cancelled(state)
    return await perform_at_async(state, state.issue(effect.ids), effect)


async def perform_at_async(state: WorkflowState, function_id: int, effect: Effect[T]) -> T:
    """``perform_async`` at an already issued ``function_id`` (a reserved step)."""
    if isinstance(effect, RunStep) and inspect.iscoroutinefunction(effect.func):
        result: T = await _perform_async_step(state, function_id, effect)
        return result
    if isinstance(effect, RunTransaction) and inspect.iscoroutinefunction(effect.func):
        done: T = await perform_async_transaction(state, function_id, effect)
        return done
    # Every other effect (sync steps included) is decided once, by ``perform_at``.
    return await asyncio.to_thread(perform_at, state, function_id, effect)


async def _perform_async_step(state: WorkflowState, function_id: int, effect: RunStep[Any]) -> Any:
    """An async step, decided once: replay its outcome or await its attempts."""
    decision = decide(state.log, function_id, effect)
    if state.on_divergence is not None and not isinstance(decision, Replay):
        state.on_divergence(function_id, effect, decision)
    if isinstance(decision, Changed):
        decision = arguments_changed(state, function_id, effect, decision)
    if isinstance(decision, Replay):
        # Steps have no replayer of their own; deserializing does no I/O.
        return replay_outcome(state, function_id, decision.checkpoint, effect)
    if not isinstance(decision, Execute):
        raise DBOSUnexpectedStepError(
            state.workflow_id, decision.function_id, decision.issued, decision.recorded
        )
    if state.replay_only:
        raise DBOSUnexpectedStepError(
            state.workflow_id, function_id, effect.checkpoint_name, "nothing (the history ends)"
        )
    state.digests[function_id] = digest(effect)
    started = now_ms(state.env.clock)
    result, error = await run_attempts_async(state, function_id, effect)
    return await asyncio.to_thread(
        record_outcome, state, function_id, effect.name, started, result, error
    )
