"""Replay a finished workflow's recorded history against the code as it is now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transact._core.checkpoint import CheckpointLog
from transact._core.status import WorkflowStatusString as S
from transact._runtime.driver import drive
from transact._runtime.formats import decode_inputs
from transact._runtime.runtime import Runtime
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact._serialization import deserialize_error
from transact.errors import (
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSUnexpectedStepError,
)


class ReplayDivergence(DBOSException):
    """The replayed code issued the recorded operations but ended differently."""


def replay(
    runtime: Runtime,
    workflow_id: str,
    on_divergence: Callable[[int, Any, Any], None] | None = None,
) -> Any:
    """Re-run ``workflow_id``'s body with every operation replayed from its log.

    Nothing executes and nothing is written. Raises ``NondeterminismError`` if the code
    issues an operation the history does not hold at that position, and
    ``ReplayDivergence`` if it returns (or raises) something other than what was
    recorded. Returns the replayed result. ``on_divergence(function_id, effect,
    decision)``, if given, is called first where the code leaves the history (with
    ``effect`` None where the code ended before the history did) and may raise.
    """
    row = runtime.store.get_workflow(workflow_id)
    if row is None:
        raise DBOSNonExistentWorkflowError("target", workflow_id)
    if row.status not in (S.SUCCESS.value, S.ERROR.value):
        raise DBOSException(f"workflow {workflow_id} is {row.status}: only finished ones replay")
    spec = runtime.spec(row.name, workflow_id, row.class_name, row.config_name)
    args, kwargs = decode_inputs(runtime.env, row, spec)
    log = CheckpointLog.of(runtime.store.load_checkpoints(workflow_id))
    state = WorkflowState(
        runtime.env,
        runtime,
        workflow_id,
        spec.name,
        log=log,
        replay_only=True,
        serialization=row.serialization,
        on_divergence=on_divergence,
    )
    token = enter(Frame(state))
    try:
        try:
            result = drive(spec, args, kwargs, state)
            if on_divergence is not None and log.last_function_id > state.function_id:
                on_divergence(state.function_id + 1, None, None)
        except (DBOSUnexpectedStepError, ReplayDivergence):
            raise
        except Exception as exc:
            if row.status != S.ERROR.value:
                raise ReplayDivergence(
                    f"replay of {workflow_id} raised {exc!r}; it recorded a result"
                ) from exc
            recorded = deserialize_error(runtime.serializer, row.error or "")
            if type(recorded) is not type(exc) or str(recorded) != str(exc):
                raise ReplayDivergence(
                    f"replay of {workflow_id} raised {exc!r}; it recorded {recorded!r}"
                ) from exc
            return None
    finally:
        leave(token)
    if row.status == S.ERROR.value:
        raise ReplayDivergence(f"replay of {workflow_id} returned {result!r}; it recorded an error")
    recorded_output = runtime.serializer.deserialize(row.output) if row.output else None
    if result != recorded_output:
        raise ReplayDivergence(
            f"replay of {workflow_id} returned {result!r}; it recorded {recorded_output!r}"
        )
    return result
