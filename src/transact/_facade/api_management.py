"""Operating on workflows: cancel, resume, delete (one or many), fork, rewind (on the
``DBOS`` class).

Each call made inside workflow code is checkpointed like a step, under DBOS's names
(``DBOS.cancelWorkflow``, ``DBOS.resumeWorkflow``, ``DBOS.deleteWorkflow``,
``DBOS.forkWorkflow``), so a replayed workflow does not repeat it. See
``docs/operations.md`` for exactly what runs again after each one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from transact._core.effects import (
    CancelWorkflow,
    DeleteWorkflow,
    ForkWorkflow,
    GetStatus,
    ResumeWorkflow,
)
from transact._core.effects_more import (
    CancelWorkflows,
    DeleteWorkflows,
    ResumeWorkflows,
    RewindWorkflow,
)
from transact._facade.context import take_start_options
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.launched import runtime
from transact._facade.routing import perform_or_else, perform_or_else_async
from transact._runtime import management
from transact._runtime.async_driver import perform_async
from transact._runtime.interpreter import perform
from transact._runtime.state import current_workflow


def cancel_workflow(workflow_id: str, *, cancel_children: bool = False) -> None:
    """Cancel a workflow: it becomes CANCELLED now and stops at its next operation.

    A step already running finishes, but nothing after it runs (its own result is
    not recorded, so a later resume runs that step again). A sleep or a wait is cut
    short. Awaiting the workflow raises ``DBOSAwaitedWorkflowCancelledError``.
    Cancelling a finished (SUCCESS, ERROR) or unknown workflow does nothing.
    ``cancel_children`` also cancels every descendant (children, their children, ...).
    """
    effect = CancelWorkflow(workflow_id, cancel_children)
    perform_or_else(effect, lambda: _cancel([workflow_id], cancel_children))


def cancel_workflows(workflow_ids: list[str], *, cancel_children: bool = False) -> None:
    """``cancel_workflow`` of every id, recorded once in workflow code."""
    ids = tuple(workflow_ids)
    perform_or_else(CancelWorkflows(ids, cancel_children), lambda: _cancel(ids, cancel_children))


def resume_workflow(workflow_id: str, *, queue_name: str | None = None) -> WorkflowHandle[Any]:
    """Run a cancelled (or dead-lettered, or stranded PENDING) workflow again from its
    log: in this process, or with ``queue_name`` wherever that queue's runners take it.

    Completed steps are not re-run. The recovery-attempt count is reset and the
    deadline cleared (a timeout set at start is not re-applied). Raises
    ``DBOSNonExistentWorkflowError`` for an unknown id; resuming a finished workflow
    returns a handle and does nothing.
    """
    effect = ResumeWorkflow(workflow_id, queue_name)
    perform_or_else(effect, lambda: _resume([workflow_id], queue_name))
    return WorkflowHandle(workflow_id)


def resume_workflows(
    workflow_ids: list[str], *, queue_name: str | None = None
) -> list[WorkflowHandle[Any]]:
    """``resume_workflow`` of every id, recorded once in workflow code. Raises
    ``DBOSNonExistentWorkflowError`` naming every unknown id, resuming none."""
    ids = tuple(workflow_ids)
    perform_or_else(ResumeWorkflows(ids, queue_name), lambda: _resume(ids, queue_name))
    return [WorkflowHandle(wid) for wid in ids]


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


def delete_workflows(workflow_ids: list[str], *, delete_children: bool = False) -> None:
    """``delete_workflow`` of every id that exists (unknown ids are skipped), recorded
    once in workflow code."""
    effect = DeleteWorkflows(tuple(workflow_ids), delete_children)
    perform_or_else(effect, lambda: _delete_many(effect))


def fork_workflow(
    workflow_id: str,
    start_step: int,
    application_version: str | None = None,
    *,
    timeout_seconds: float | None = None,
    queue_name: str | None = None,
    queue_partition_key: str | None = None,
    replacement_children: dict[str, str] | None = None,
) -> WorkflowHandle[Any]:
    """Start a new workflow that replays ``workflow_id`` up to ``start_step`` and runs
    it again from there.

    The fork gets the original's inputs and a copy of its checkpoints, event history
    and stream entries below ``start_step`` (not its messages). Steps before
    ``start_step`` are replayed from the copy, never run; ``start_step`` and
    everything after it run again (a ``start_step`` past the end of the log copies
    everything and runs on from there). Its id is the one set by ``SetWorkflowID``,
    else a new UUID.

    Args:
        workflow_id: the workflow to fork (it may be finished or still running).
        start_step: the function id to run again from (1 re-runs everything; the
            original's last function id + 1 replays everything recorded).
        application_version: the version that must run the fork. None (the
            default) leaves it to the executors of the latest version: this one runs
            it at once if it is one of them. Another version leaves it ENQUEUED for
            an executor of that version.
        timeout_seconds: a timeout for the fork (from when it starts running);
            defaults to the one set by ``SetWorkflowTimeout``, else none.
        queue_name: enqueue the fork on this queue (with ``queue_partition_key`` on a
            partitioned one) rather than running it at once.
        replacement_children: ``{original child id: id}``: the fork's copied history
            names these children instead (their results are replayed from them).

    Raises ``ValueError`` if ``start_step`` is below 1 or ``timeout_seconds`` is not
    positive;
    ``DBOSNonExistentWorkflowError`` for an unknown ``workflow_id``;
    ``DBOSConflictingWorkflowError`` if the new id is taken.
    """
    effect = _fork_effect(
        workflow_id,
        start_step,
        application_version,
        timeout_seconds,
        queue_name,
        queue_partition_key,
        replacement_children,
    )
    state = current_workflow()
    if state is None:
        return WorkflowHandle(_fork(effect))
    fork_id = perform(state, effect)
    # DBOS numbering: a fork in workflow code takes two ids, the fork at N and a
    # ``DBOS.getStatus`` for the handle at N + 1.
    perform(state, GetStatus(fork_id, must_exist=True, check_only=True))
    return WorkflowHandle(fork_id)


async def fork_workflow_async(
    workflow_id: str,
    start_step: int,
    application_version: str | None = None,
    *,
    timeout_seconds: float | None = None,
    queue_name: str | None = None,
    queue_partition_key: str | None = None,
    replacement_children: dict[str, str] | None = None,
) -> WorkflowHandleAsync[Any]:
    """``DBOS.fork_workflow`` returning an async handle."""
    effect = _fork_effect(
        workflow_id,
        start_step,
        application_version,
        timeout_seconds,
        queue_name,
        queue_partition_key,
        replacement_children,
    )
    state = current_workflow()
    if state is None:
        fork_id = await asyncio.to_thread(_fork, effect)
    else:
        fork_id = await perform_async(state, effect)
        await perform_async(state, GetStatus(fork_id, must_exist=True, check_only=True))
    return WorkflowHandleAsync(WorkflowHandle(fork_id))


def _fork_effect(
    workflow_id: str,
    start_step: int,
    application_version: str | None,
    timeout_seconds: float | None,
    queue_name: str | None,
    queue_partition_key: str | None,
    replacement_children: dict[str, str] | None,
) -> ForkWorkflow:
    management.validate_start_step(start_step)
    if timeout_seconds is not None and not timeout_seconds > 0:
        # DBOS raises Exception with this text; ValueError is one
        raise ValueError(f"Invalid workflow timeout {timeout_seconds}. Timeouts must be positive.")
    options = take_start_options()
    timeout = timeout_seconds if timeout_seconds is not None else options.timeout_seconds

    effect = ForkWorkflow(
        workflow_id,
        start_step,
        new_id=options.workflow_id,
        application_version=application_version,
        timeout_seconds=timeout,
        queue_name=queue_name,
        queue_partition_key=queue_partition_key,
        replacement_children=tuple(sorted((replacement_children or {}).items())),
    )
    return effect


def rewind_workflow(
    workflow_id: str, start_step: int, *, queue_name: str | None = None
) -> WorkflowHandle[Any]:
    """Run a finished (or cancelled) workflow again from ``start_step``, in place: its
    checkpoints, event history and stream entries from ``start_step`` on are deleted
    and it resumes (here, or on ``queue_name``), so everything before ``start_step`` is
    replayed and the rest runs again.

    Raises ``ValueError`` for a ``start_step`` below 1, ``DBOSNonExistentWorkflowError``
    for an unknown id and ``DBOSException`` for a workflow still PENDING, ENQUEUED or
    DELAYED (cancel it first).
    """
    effect = RewindWorkflow(workflow_id, start_step, queue_name)
    perform_or_else(effect, lambda: _rewind(effect))
    return WorkflowHandle(workflow_id)


# --- async twins ---------------------------------------------------------------


async def cancel_workflow_async(workflow_id: str, *, cancel_children: bool = False) -> None:
    """``DBOS.cancel_workflow`` without blocking the loop."""
    effect = CancelWorkflow(workflow_id, cancel_children)
    await perform_or_else_async(effect, lambda: _cancel([workflow_id], cancel_children))


async def cancel_workflows_async(workflow_ids: list[str], *, cancel_children: bool = False) -> None:
    """``DBOS.cancel_workflows`` without blocking the loop."""
    ids = tuple(workflow_ids)
    effect = CancelWorkflows(ids, cancel_children)
    await perform_or_else_async(effect, lambda: _cancel(ids, cancel_children))


async def resume_workflow_async(
    workflow_id: str, *, queue_name: str | None = None
) -> WorkflowHandleAsync[Any]:
    """``DBOS.resume_workflow`` returning an async handle."""
    effect = ResumeWorkflow(workflow_id, queue_name)
    await perform_or_else_async(effect, lambda: _resume([workflow_id], queue_name))
    return WorkflowHandleAsync(WorkflowHandle(workflow_id))


async def resume_workflows_async(
    workflow_ids: list[str], *, queue_name: str | None = None
) -> list[WorkflowHandleAsync[Any]]:
    """``DBOS.resume_workflows`` returning async handles."""
    ids = tuple(workflow_ids)
    await perform_or_else_async(ResumeWorkflows(ids, queue_name), lambda: _resume(ids, queue_name))
    return [WorkflowHandleAsync(WorkflowHandle(wid)) for wid in ids]


async def delete_workflow_async(workflow_id: str, delete_children: bool = False) -> None:
    """``DBOS.delete_workflow`` without blocking the loop."""
    effect = DeleteWorkflow(workflow_id, delete_children)
    await perform_or_else_async(effect, lambda: _delete(effect))


async def delete_workflows_async(workflow_ids: list[str], *, delete_children: bool = False) -> None:
    """``DBOS.delete_workflows`` without blocking the loop."""
    effect = DeleteWorkflows(tuple(workflow_ids), delete_children)
    await perform_or_else_async(effect, lambda: _delete_many(effect))


async def rewind_workflow_async(
    workflow_id: str, start_step: int, *, queue_name: str | None = None
) -> WorkflowHandleAsync[Any]:
    """``DBOS.rewind_workflow`` returning an async handle."""
    effect = RewindWorkflow(workflow_id, start_step, queue_name)
    await perform_or_else_async(effect, lambda: _rewind(effect))
    return WorkflowHandleAsync(WorkflowHandle(workflow_id))


def _cancel(workflow_ids: Sequence[str], children: bool) -> None:
    rt = runtime()
    rt.cancel(management.with_descendants(rt.store, workflow_ids, children))


def _resume(workflow_ids: Sequence[str], queue_name: str | None) -> None:
    rt = runtime()
    management.require_all(rt.store, workflow_ids)
    for workflow_id in dict.fromkeys(workflow_ids):
        rt.resume(workflow_id, queue_name)


def _delete_many(effect: DeleteWorkflows) -> None:
    management.delete_many(runtime(), effect.workflow_ids, delete_children=effect.delete_children)


def _rewind(effect: RewindWorkflow) -> None:
    management.rewind(runtime(), effect.workflow_id, effect.start_step, effect.queue_name)


def _fork(effect: ForkWorkflow) -> str:
    return runtime().fork(
        effect.workflow_id,
        effect.start_step,
        new_id=effect.new_id,
        application_version=effect.application_version,
        timeout_seconds=effect.timeout_seconds,
        queue_name=effect.queue_name,
        queue_partition_key=effect.queue_partition_key,
        replacement_children=dict(effect.replacement_children),
    )


def _delete(effect: DeleteWorkflow) -> None:
    runtime().delete(effect.workflow_id, delete_children=effect.delete_children)
