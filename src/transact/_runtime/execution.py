"""Executing one workflow body: drive it under its frame and record its outcome once."""

from __future__ import annotations

import asyncio
from typing import Any

from transact._core.status import WorkflowStatusString as S
from transact._runtime.clock import now_ms
from transact._runtime.driver import drive
from transact._runtime.env import Env
from transact._runtime.formats import workflow_serializer
from transact._runtime.registry import WorkflowSpec
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact._runtime.waiters import status_key
from transact._serialization import serialize_error, serialize_value
from transact.errors import (
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
    SerializationError,
)


def execute(
    env: Env,
    state: WorkflowState,
    spec: WorkflowSpec,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """Run the body under its frame and record the outcome exactly once."""
    token = enter(Frame(state))
    try:
        with _workflow_span(env, state, spec):
            try:
                result = drive(spec, args, kwargs, state)
            except (DBOSWorkflowCancelledError, DBOSWorkflowConflictIDError):
                raise  # nothing to record: cancelled, shutting down, or another owns it
            except Exception as exc:
                error = serialize_error(workflow_serializer(env, state.serialization), exc)
                finish(env, state, S.ERROR, None, error)
                raise
            return record_result(env, state, spec, result)
    finally:
        leave(token)


def _workflow_span(env: Env, state: WorkflowState, spec: WorkflowSpec) -> Any:
    """Count the start, and open the workflow's span (a no-op while tracing is off)."""
    env.metrics.workflow_started(spec.name)
    return env.tracing.workflow(
        state.workflow_id,
        spec.name,
        user=state.authenticated_user,
        roles=state.authenticated_roles,
        queue_name=state.queue_name,
        parent=state.otel_context,
    )


async def execute_async(
    env: Env,
    state: WorkflowState,
    spec: WorkflowSpec,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """``execute`` for an ``async def`` body awaited on the running loop (the caller's),
    with the outcome written from a worker thread."""
    state.loop = asyncio.get_running_loop()
    token = enter(Frame(state))
    try:
        with _workflow_span(env, state, spec):
            try:
                result = await spec.func(*args, **kwargs)
            except (DBOSWorkflowCancelledError, DBOSWorkflowConflictIDError):
                raise
            except Exception as exc:
                error = serialize_error(workflow_serializer(env, state.serialization), exc)
                await asyncio.to_thread(finish, env, state, S.ERROR, None, error)
                raise
            return await asyncio.to_thread(record_result, env, state, spec, result)
    finally:
        leave(token)


def record_result(env: Env, state: WorkflowState, spec: WorkflowSpec, result: Any) -> Any:
    """Write a workflow's result as its outcome (an unserializable one as its error), in
    the workflow's own format."""
    serializer = workflow_serializer(env, state.serialization)
    try:
        output = serialize_value(serializer, result, f"the result of workflow {spec.name}")
    except SerializationError as exc:
        finish(env, state, S.ERROR, None, serialize_error(serializer, exc))
        raise
    finish(env, state, S.SUCCESS, output, None)
    return result


def finish(
    env: Env, state: WorkflowState, status: S, output: str | None, error: str | None
) -> None:
    """Write the outcome; a refused write means cancelled (or deleted) or a conflict."""
    if state.cancelled.is_set() and env.closing:
        raise DBOSWorkflowCancelledError("the executor is shutting down")
    state.finishing = True
    done = env.store.finish_workflow(
        state.workflow_id,
        status=status.value,
        output=output,
        error=error,
        now_ms=now_ms(env.clock),
    )
    env.waiters.notify(status_key(state.workflow_id))
    if not done:
        row = env.store.get_workflow(state.workflow_id, load_input=False)
        if row is None or row.status == S.CANCELLED.value:
            raise DBOSWorkflowCancelledError(
                f"Workflow {state.workflow_id} is cancelled. Aborting function."
            )
        if (row.status, row.output, row.error) != (status.value, output, error):
            raise DBOSWorkflowConflictIDError(state.workflow_id)
        # Else this very outcome: a write whose commit was in doubt, found by its retry.
    env.metrics.workflow_finished(state.name, status == S.SUCCESS)
