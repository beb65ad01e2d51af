"""Operating on workflows: cancel, resume, delete, fork (on the ``DBOS`` class).

Each call made inside workflow code is checkpointed like a step, under DBOS's names
(``DBOS.cancelWorkflow``, ``DBOS.resumeWorkflow``, ``DBOS.deleteWorkflow``,
``DBOS.forkWorkflow``), so a replayed workflow does not repeat it. See
``docs/operations.md`` for exactly what runs again after each one.
"""

from __future__ import annotations

from typing import Any

from transact._core.effects import (
    CancelWorkflow,
    DeleteWorkflow,
    ForkWorkflow,
    GetStatus,
    ResumeWorkflow,
)
from transact._facade.context import take_start_options
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.launched import runtime
from transact._facade.routing import perform_or_else, perform_or_else_async
from transact._runtime import management
from transact._runtime.async_driver import perform_async
from transact._runtime.interpreter import perform
from transact._runtime.state import current_workflow


def cancel_workflow(workflow_id: str) -> None:
    """Cancel a workflow: it becomes CANCELLED now and stops at its next operation.

    A step already running finishes, but nothing after it runs (its own result is
    not recorded, so a later resume runs that step again). A sleep or a wait is cut
    short. Awaiting the workflow raises ``DBOSAwaitedWorkflowCancelledError``.
    Cancelling a finished (SUCCESS, ERROR) or unknown workflow does nothing.
    """
    perform_or_else(CancelWorkflow(workflow_id), lambda: _cancel(workflow_id))


def resume_workflow(workflow_id: str) -> WorkflowHandle[Any]:
    """Run a cancelled (or dead-lettered, or stranded PENDING) workflow again from its
    log, in this process.

    Completed steps are not re-run. The recovery-attempt count is reset and the
    deadline cleared (a timeout set at start is not re-applied). Raises
    ``DBOSNonExistentWorkflowError`` for an unknown id; resuming a finished workflow
    returns a handle and does nothing.
    """
    perform_or_else(ResumeWorkflow(workflow_id), lambda: _resume(workflow_id))
    return WorkflowHandle(workflow_id)


def delete_workflow(workflow_id: str, delete_children: bool = False) -> None:
    """Delete a workflow with its checkpoints, messages, events and streams.

    Args:
        workflow_id: the workflow to delete.
        delete_children: also delete every descendant (children, their children,
            ...), found through their parent ids.

    A running execution of a deleted workflow stops at its next operation, as if
    cancelled. Raises ``DBOSNonExistentWorkflowError`` (deleting nothing) if
    ``workflow_id`` does not exist.
    """
    effect = DeleteWorkflow(workflow_id, delete_children)
    perform_or_else(effect, lambda: _delete(effect))


def fork_workflow(
    workflow_id: str,
    start_step: int,
    application_version: str | None = None,
    *,
    timeout_seconds: float | None = None,
) -> WorkflowHandle[Any]:
    """Start a new workflow that replays ``workflow_id`` up to ``start_step`` and runs
    it again from there.

    The fork gets the original's inputs and a copy of its checkpoints, event history
    and stream entries below ``start_step`` (not its messages). Steps before
    ``start_step`` are replayed from the copy, never run; ``start_step`` and
    everything after it run again. Its id is the one set by ``SetWorkflowID``, else a
    new UUID.

    Args:
        workflow_id: the workflow to fork (it may be finished or still running).
        start_step: the function id to run again from (1 re-runs everything; the
            original's last function id + 1 replays everything recorded).
        application_version: the version that must run the fork; None (the default)
            lets this executor run it at once. Another version leaves it ENQUEUED
            for an executor of that version.
        timeout_seconds: a timeout for the fork (from when it starts running);
            defaults to the one set by ``SetWorkflowTimeout``, else none.

    Raises ``ValueError`` if ``start_step`` is below 1 or past the end of the
    original's log, or ``timeout_seconds`` is not positive;
    ``DBOSNonExistentWorkflowError`` for an unknown ``workflow_id``;
    ``DBOSConflictingWorkflowError`` if the new id is taken.
    """
    effect = _fork_effect(workflow_id, start_step, application_version, timeout_seconds)
    fork_id = perform_or_else(effect, lambda: _fork(effect))
    state = current_workflow()
    if state is not None:
        # DBOS numbering: a fork in workflow code takes two ids, the fork at N and a
        # ``DBOS.getStatus`` for the handle at N + 1.
        perform(state, GetStatus(fork_id, must_exist=True, check_only=True))
    return WorkflowHandle(fork_id)


def _fork_effect(
    workflow_id: str,
    start_step: int,
    application_version: str | None,
    timeout_seconds: float | None,
) -> ForkWorkflow:
    """The validated fork of ``fork_workflow`` and its twin (takes the ambient id)."""
    management.validate_start_step(start_step)
    if timeout_seconds is not None and not timeout_seconds > 0:
        # DBOS raises Exception with this text; ValueError is one
        raise ValueError(f"Invalid workflow timeout {timeout_seconds}. Timeouts must be positive.")
    options = take_start_options()
    timeout = timeout_seconds if timeout_seconds is not None else options.timeout_seconds
    return ForkWorkflow(
        workflow_id,
        start_step,
        new_id=options.workflow_id,
        application_version=application_version,
        timeout_seconds=timeout,
    )


def _fork(effect: ForkWorkflow) -> str:
    return runtime().fork(
        effect.workflow_id,
        effect.start_step,
        new_id=effect.new_id,
        application_version=effect.application_version,
        timeout_seconds=effect.timeout_seconds,
    )


# --- async twins ---------------------------------------------------------------


async def cancel_workflow_async(workflow_id: str) -> None:
    """``DBOS.cancel_workflow`` without blocking the loop."""
    await perform_or_else_async(CancelWorkflow(workflow_id), lambda: _cancel(workflow_id))


async def resume_workflow_async(workflow_id: str) -> WorkflowHandleAsync[Any]:
    """``DBOS.resume_workflow`` returning an async handle."""
    await perform_or_else_async(ResumeWorkflow(workflow_id), lambda: _resume(workflow_id))
    return WorkflowHandleAsync(WorkflowHandle(workflow_id))


async def delete_workflow_async(workflow_id: str, delete_children: bool = False) -> None:
    """``DBOS.delete_workflow`` without blocking the loop."""
    effect = DeleteWorkflow(workflow_id, delete_children)
    await perform_or_else_async(effect, lambda: _delete(effect))


async def fork_workflow_async(
    workflow_id: str,
    start_step: int,
    application_version: str | None = None,
    *,
    timeout_seconds: float | None = None,
) -> WorkflowHandleAsync[Any]:
    """``DBOS.fork_workflow`` returning an async handle."""
    effect = _fork_effect(workflow_id, start_step, application_version, timeout_seconds)
    fork_id = await perform_or_else_async(effect, lambda: _fork(effect))
    state = current_workflow()
    if state is not None:
        await perform_async(state, GetStatus(fork_id, must_exist=True, check_only=True))
    return WorkflowHandleAsync(WorkflowHandle(fork_id))


def _cancel(workflow_id: str) -> None:
    runtime().cancel([workflow_id])


def _resume(workflow_id: str) -> None:
    runtime().resume(workflow_id)


def _delete(effect: DeleteWorkflow) -> None:
    runtime().delete(effect.workflow_id, delete_children=effect.delete_children)
