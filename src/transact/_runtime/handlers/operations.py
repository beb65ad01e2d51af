"""Operating on workflows from workflow code (cancel, resume, delete, fork), recorded
like steps so a replayed workflow does not repeat them."""

from __future__ import annotations

from typing import Any

from transact._core.effects import (
    CancelWorkflow,
    DeleteWorkflow,
    Effect,
    ForkWorkflow,
    ResumeWorkflow,
)
from transact._runtime.env import Performer
from transact._runtime.management import with_descendants
from transact._runtime.recording import recorded_read
from transact._runtime.state import WorkflowState


def execute_cancel(state: WorkflowState, function_id: int, effect: CancelWorkflow) -> Any:
    """Cancel the workflow."""
    ids = [effect.workflow_id]
    return recorded_read(
        state,
        function_id,
        effect.checkpoint_name,
        lambda: state.host.cancel(with_descendants(state.env.store, ids, effect.cancel_children)),
    )


def execute_resume(state: WorkflowState, function_id: int, effect: ResumeWorkflow) -> Any:
    """Resume the workflow in this process."""
    return recorded_read(
        state,
        function_id,
        effect.checkpoint_name,
        lambda: state.host.resume(effect.workflow_id, effect.queue_name),
    )


def execute_delete(state: WorkflowState, function_id: int, effect: DeleteWorkflow) -> Any:
    """Delete the workflow (and its descendants when asked)."""

    def run() -> None:
        state.host.delete(effect.workflow_id, delete_children=effect.delete_children)

    return recorded_read(state, function_id, effect.checkpoint_name, run)


def execute_fork(state: WorkflowState, function_id: int, effect: ForkWorkflow) -> Any:
    """Fork the workflow; record the fork's id."""

    def run() -> str:
        return state.host.fork(
            effect.workflow_id,
            effect.start_step,
            new_id=effect.new_id,
            application_version=effect.application_version,
            timeout_seconds=effect.timeout_seconds,
            queue_name=effect.queue_name,
            queue_partition_key=effect.queue_partition_key,
            replacement_children=dict(effect.replacement_children),
        )

    return recorded_read(state, function_id, effect.checkpoint_name, run)


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    CancelWorkflow: Performer(execute_cancel),
    ResumeWorkflow: Performer(execute_resume),
    DeleteWorkflow: Performer(execute_delete),
    ForkWorkflow: Performer(execute_fork),
}
