"""Bulk cancel, resume and delete, rewind and attribute updates from workflow code,
recorded like steps (under DBOS's names) so a replayed workflow does not repeat them."""

from __future__ import annotations

from typing import Any

from transact._core.effects import Effect
from transact._core.effects_more import (
    CancelWorkflows,
    DeleteWorkflows,
    ResumeWorkflows,
    RewindWorkflow,
    UpdateWorkflowAttributes,
)
from transact._runtime.clock import now_ms
from transact._runtime.env import Performer
from transact._runtime.management import require_all, with_descendants
from transact._runtime.recording import recorded_read
from transact._runtime.state import WorkflowState


def execute_cancel_many(state: WorkflowState, function_id: int, effect: CancelWorkflows) -> Any:
    """Cancel the workflows (and their descendants when asked)."""
    store = state.env.store

    def run() -> None:
        state.host.cancel(with_descendants(store, effect.workflow_ids, effect.cancel_children))

    return recorded_read(state, function_id, effect.checkpoint_name, run)


def execute_resume_many(state: WorkflowState, function_id: int, effect: ResumeWorkflows) -> Any:
    """Resume the workflows, all of which must exist."""

    def run() -> None:
        require_all(state.env.store, effect.workflow_ids)
        for workflow_id in dict.fromkeys(effect.workflow_ids):
            state.host.resume(workflow_id, effect.queue_name)

    return recorded_read(state, function_id, effect.checkpoint_name, run)


def execute_delete_many(state: WorkflowState, function_id: int, effect: DeleteWorkflows) -> Any:
    """Delete the workflows that exist."""
    store = state.env.store

    def run() -> None:
        for workflow_id in dict.fromkeys(effect.workflow_ids):
            if store.get_workflow(workflow_id, load_input=False, load_output=False) is not None:
                state.host.delete(workflow_id, delete_children=effect.delete_children)

    return recorded_read(state, function_id, effect.checkpoint_name, run)


def execute_rewind(state: WorkflowState, function_id: int, effect: RewindWorkflow) -> Any:
    """Rewind the workflow."""

    def run() -> None:
        state.host.rewind(effect.workflow_id, effect.start_step, effect.queue_name)

    return recorded_read(state, function_id, effect.checkpoint_name, run)


def execute_update_attributes(
    state: WorkflowState, function_id: int, effect: UpdateWorkflowAttributes
) -> Any:
    """Replace or merge the workflow's attributes (an unknown workflow is left alone)."""
    env = state.env

    def run() -> None:
        env.store.update_workflow_attributes(
            effect.workflow_id, effect.attributes, merge=effect.merge, now_ms=now_ms(env.clock)
        )

    return recorded_read(state, function_id, effect.checkpoint_name, run)


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    CancelWorkflows: Performer(execute_cancel_many),
    ResumeWorkflows: Performer(execute_resume_many),
    DeleteWorkflows: Performer(execute_delete_many),
    RewindWorkflow: Performer(execute_rewind),
    UpdateWorkflowAttributes: Performer(execute_update_attributes),
}
