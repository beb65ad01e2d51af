"""Child workflows: start (or attach on replay) with a deterministic id; await outcomes."""

from __future__ import annotations

from typing import Any

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Effect, GetResult, StartChild
from transact._core.ids import child_workflow_id
from transact._runtime.clock import now_ms
from transact._runtime.env import Performer
from transact._runtime.outcomes import outcome_of, outcome_text
from transact._runtime.recording import check_cancelled, digest_of, record, replay_outcome
from transact._runtime.state import WorkflowState
from transact._serialization import serialize_error
from transact.errors import DBOSConflictingWorkflowError, DBOSQueueDeduplicatedError


def replay_start(
    state: WorkflowState, function_id: int, checkpoint: Checkpoint, _: StartChild
) -> str:
    """Return the recorded child id, or raise the recorded start error."""
    if checkpoint.child_workflow_id is None:  # a recorded start error (e.g. deduplicated)
        replay_outcome(state, function_id, checkpoint, None)
    return checkpoint.child_workflow_id or ""


def execute_start_child(state: WorkflowState, function_id: int, effect: StartChild) -> str:
    """Insert the child's row, record it at the parent's position, then run it. A start
    the database refuses (a held deduplication id, an id taken by another workflow) is
    recorded at that position as an error, and raised."""
    env = state.env
    child_id = effect.workflow_id or child_workflow_id(state.workflow_id, function_id)
    started = now_ms(env.clock)
    try:
        launch = state.host.prepare_child(state, child_id, effect)
    except (DBOSQueueDeduplicatedError, DBOSConflictingWorkflowError) as exc:
        # What the database said at this position is part of the history: a replay
        # raises the same error rather than trying again (and perhaps succeeding).
        error = serialize_error(env.serializer, exc)
        record(
            state,
            Checkpoint(
                function_id,
                effect.name,
                args_digest=digest_of(state, function_id),
                error=error,
                started_at_epoch_ms=started,
                completed_at_epoch_ms=now_ms(env.clock),
            ),
        )
        raise
    try:
        record(
            state,
            Checkpoint(
                function_id,
                effect.name,
                args_digest=digest_of(state, function_id),
                child_workflow_id=child_id,
                started_at_epoch_ms=started,
                completed_at_epoch_ms=now_ms(env.clock),
            ),
        )
    except BaseException:
        if launch is not None:  # the child exists now: let it run rather than strand it
            launch(False)
        raise
    if launch is not None:
        launch(effect.run_inline)
    return child_id


def execute_get_result(state: WorkflowState, function_id: int, effect: GetResult) -> Any:
    """Wait for the workflow's outcome, record it, and return (or raise) it."""
    env = state.env
    started = now_ms(env.clock)
    row = state.host.wait_terminal(effect.workflow_id, interrupt=state.cancelled)
    if row is None:  # interrupted: this workflow was cancelled while waiting
        check_cancelled(state)
        raise AssertionError("unreachable: wait ended without an outcome or a cancellation")
    output, error = outcome_text(env.serializer, row)
    record(
        state,
        Checkpoint(
            function_id,
            "DBOS.getResult",
            args_digest=digest_of(state, function_id),
            output=output,
            error=error,
            child_workflow_id=effect.workflow_id,
            started_at_epoch_ms=started,
            completed_at_epoch_ms=now_ms(env.clock),
        ),
    )
    return outcome_of(env.serializer, row)


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    StartChild: Performer(execute_start_child, replay_start),
    GetResult: Performer(execute_get_result),
}
