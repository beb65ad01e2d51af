"""An ``async def`` transaction (``AsyncSQLAlchemyDatasource``) in an async workflow: the
same exactly-once recording as ``handlers/transactions.py``, awaited on the event loop
with an ``AsyncSession``; the checkpoint is written in a worker thread."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError

from transact._core.decide import Changed, Execute, Replay, decide
from transact._core.digest import digest
from transact._core.effects import RunTransaction
from transact._runtime.clock import now_ms
from transact._runtime.handlers.transactions import (
    finish,
    isolation_statement,
    next_delay,
    output_row,
    retriable,
)
from transact._runtime.recording import arguments_changed, record_outcome, replay_outcome
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact.errors import DBOSUnexpectedStepError

# The ``AsyncSession`` of the running async transaction (its datasource's ``sql_session``).
current_async_session: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "transact_async_sql_session", default=None
)


async def in_transaction_async(
    target: Any, isolation_level: str, body: Callable[[Any], Awaitable[Any]]
) -> Any:
    """Await ``body(session)`` in one transaction, retrying serialization failures."""
    delay = 0.001
    while True:
        try:
            async with target.new_session() as session, session.begin():
                if target.is_postgres:
                    await session.execute(isolation_statement(isolation_level))
                return await body(session)
        except DBAPIError as exc:
            if not retriable(exc):
                raise
            await asyncio.sleep(delay)
            delay = next_delay(delay)


async def run_with_async_session(
    session: Any, func: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
) -> Any:
    """Await ``func`` with the datasource's ``sql_session`` bound to ``session``."""
    token = current_async_session.set(session)
    try:
        return await func(*args, **kwargs)
    finally:
        current_async_session.reset(token)


async def perform_async_transaction(
    state: WorkflowState, function_id: int, effect: RunTransaction[Any]
) -> Any:
    """Replay the recorded outcome, or run the transaction once and record it."""
    decision = decide(state.log, function_id, effect)
    if state.on_divergence is not None and not isinstance(decision, Replay):
        state.on_divergence(function_id, effect, decision)
    if isinstance(decision, Changed):
        decision = arguments_changed(state, function_id, effect, decision)
    if isinstance(decision, Replay):
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
    target = effect.target
    started = now_ms(state.env.clock)
    recording = [False]  # set while the output row is inserted

    async def body(session: Any) -> tuple[Any, Any, str | None]:
        found = (await session.execute(target.output_query(state.workflow_id, function_id))).first()
        if found is not None:
            return found, None, None
        token = enter(Frame(state, step_id=function_id))
        try:
            result = await run_with_async_session(
                session, effect.func, *effect.args, **effect.kwargs
            )
        finally:
            leave(token)
        output, statement = output_row(state, function_id, effect, target, result)
        recording[0] = True
        await session.execute(statement)
        return None, result, output

    try:
        try:
            outcome = await in_transaction_async(target, effect.isolation_level, body)
        except IntegrityError:
            if not recording[0]:
                raise
            # Another execution committed it first: running once more returns its outcome.
            outcome = await in_transaction_async(target, effect.isolation_level, body)
    except Exception as exc:  # rolled back: nothing of it was committed
        return await asyncio.to_thread(
            record_outcome, state, function_id, effect.name, started, None, exc
        )
    return await asyncio.to_thread(finish, state, function_id, effect, target, started, outcome)
