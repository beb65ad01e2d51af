"""Reads made inside workflow code (status, listings, events, wait-first), recorded
like steps so a replayed workflow sees what it saw the first time."""

from __future__ import annotations

from typing import Any

from transact._core.effects import (
    Effect,
    GetAllEvents,
    GetStatus,
    ListWorkflows,
    ListWorkflowSteps,
    WaitFirst,
)
from transact._core.query import page
from transact._runtime.env import Performer
from transact._runtime.recording import recorded_read
from transact._runtime.state import WorkflowState
from transact._runtime.status import WorkflowStatus, to_status, to_step_info
from transact.errors import DBOSNonExistentWorkflowError


def execute_get_status(state: WorkflowState, function_id: int, effect: GetStatus) -> Any:
    """The workflow's status (None if missing, or an error with ``must_exist``)."""
    env = state.env

    def read() -> WorkflowStatus | None:
        loads = not effect.check_only
        row = env.store.get_workflow(effect.workflow_id, load_input=loads, load_output=loads)
        if row is None:
            if effect.must_exist:
                raise DBOSNonExistentWorkflowError("target", effect.workflow_id)
            return None
        return None if effect.check_only else to_status(row, env.serializer)

    return recorded_read(state, function_id, effect.checkpoint_name, read)


def execute_list_workflows(state: WorkflowState, function_id: int, effect: ListWorkflows) -> Any:
    """The statuses of the workflows matching the query."""
    env = state.env

    def read() -> list[WorkflowStatus]:
        return [to_status(r, env.serializer) for r in env.store.list_workflows(effect.query)]

    return recorded_read(state, function_id, effect.checkpoint_name, read)


def execute_list_steps(state: WorkflowState, function_id: int, effect: ListWorkflowSteps) -> Any:
    """The recorded operations of a workflow."""
    env = state.env

    def read() -> list[Any]:
        return [
            to_step_info(c, env.serializer, load_output=effect.load_output)
            for c in page(
                env.store.load_checkpoints(effect.workflow_id), effect.limit, effect.offset
            )
        ]

    return recorded_read(state, function_id, effect.checkpoint_name, read)


def execute_get_all_events(state: WorkflowState, function_id: int, effect: GetAllEvents) -> Any:
    """The latest value of every event of a workflow."""
    env = state.env
    return recorded_read(
        state,
        function_id,
        effect.checkpoint_name,
        lambda: {
            key: env.serializer.deserialize(text)
            for key, text in env.store.get_all_events(effect.workflow_id).items()
        },
    )


def execute_wait_first(state: WorkflowState, function_id: int, effect: WaitFirst) -> Any:
    """Wait for the first of the workflows to finish; record its id."""

    def wait() -> str:
        return state.host.wait_any(effect.workflow_ids, effect.polling_interval_sec)

    return recorded_read(state, function_id, effect.checkpoint_name, wait)


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    GetStatus: Performer(execute_get_status),
    ListWorkflows: Performer(execute_list_workflows),
    ListWorkflowSteps: Performer(execute_list_steps),
    GetAllEvents: Performer(execute_get_all_events),
    WaitFirst: Performer(execute_wait_first),
}
