"""Executing one workflow body: drive it under its frame and record its outcome once."""

from __future__ import annotations

from typing import Any

from transact._core.status import WorkflowStatusString as S
from transact._runtime.clock import now_ms
from transact._runtime.driver import drive
from transact._runtime.env import Env
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
        try:
            result = drive(spec, args, kwargs, state)
        except (DBOSWorkflowCancelledError, DBOSWorkflowConflictIDError):
            raise  # nothing to record: cancelled, shutting down, or another executor owns it
        except Exception as exc:
            finish(env, state, S.ERROR, None, serialize_error(env.serializer, exc))
            raise
        try:
            output = serialize_value(env.serializer, result, f"the result of workflow {spec.name}")
        except SerializationError as exc:
            finish(env, state, S.ERROR, None, serialize_error(env.serializer, exc))
            raise
        finish(env, state, S.SUCCESS, output, None)
        return result
    finally:
        leave(token)


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
        if row is not None and (row.status, row.output, row.error) == (status.value, output, error):
            return  # this outcome: a write whose commit was in doubt, found done by its retry
        if row is None or row.status == S.CANCELLED.value:
            raise DBOSWorkflowCancelledError(f"Workflow {state.workflow_id} was cancelled")
        raise DBOSWorkflowConflictIDError(state.workflow_id)
