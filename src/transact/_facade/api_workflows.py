"""Starting, awaiting and inspecting workflows on the ``DBOS`` class."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar, overload

from typing_extensions import ParamSpec

from transact._core.effects import (
    GetResult,
    GetStatus,
    ListWorkflowSteps,
    Sleep,
    WaitFirst,
)
from transact._core.query import page
from transact._facade.context import take_start_options
from transact._facade.decorators import StepOptions, call_step, child_start, step_spec_of
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.launched import not_a_workflow, runtime
from transact._facade.listing import query_workflows, query_workflows_async, workflow_query
from transact._facade.routing import perform_or_else, perform_or_else_async
from transact._facade.status import StepInfo, WorkflowStatus, to_status, to_step_info
from transact._runtime.async_driver import perform_async
from transact._runtime.classes import split_target
from transact._runtime.interpreter import perform
from transact._runtime.loop_runs import start_on_loop
from transact._runtime.registry import spec_of
from transact._runtime.state import WorkflowState, current_frame, current_workflow
from transact.errors import DBOSException, DBOSNonExistentWorkflowError

P = ParamSpec("P")
R = TypeVar("R")


@overload
def start_workflow(
    func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
) -> WorkflowHandle[R]: ...


@overload
def start_workflow(
    func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> WorkflowHandle[R]: ...


def start_workflow(
    func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
) -> WorkflowHandle[Any]:
    """Start workflow ``func`` in the background; return a handle to it.

    The row is written before this returns, so the workflow survives a crash from
    then on. Raises ``DBOSException`` if ``func`` is not a ``@DBOS.workflow()``.
    """
    spec = spec_of(func)
    if spec is None:
        raise not_a_workflow(func)
    spec, call_args = split_target(spec, func, args)
    frame = current_frame()
    if frame is not None and frame.step_id is not None:
        raise DBOSException(f"cannot start workflow {spec.name} from inside a step")
    options = take_start_options()
    rt = runtime()
    if frame is not None:
        child_id = perform(
            frame.workflow,
            child_start(spec, call_args, kwargs, options, run_inline=False),
        )
        return WorkflowHandle(child_id)
    workflow_id, future = rt.start(spec, call_args, kwargs, options=options, inline=False)
    return WorkflowHandle(workflow_id, future)


def retrieve_workflow(workflow_id: str, existing_workflow: bool = True) -> WorkflowHandle[Any]:
    """A handle to ``workflow_id``; with ``existing_workflow`` it must exist
    (``DBOSNonExistentWorkflowError`` otherwise)."""
    if existing_workflow:
        perform_or_else(_exists_effect(workflow_id), lambda: _check_exists(workflow_id))
    return WorkflowHandle(workflow_id)


def _exists_effect(workflow_id: str) -> GetStatus:
    return GetStatus(workflow_id, must_exist=True, check_only=True)


def _check_exists(workflow_id: str) -> None:
    if runtime().store.get_workflow(workflow_id, load_input=False, load_output=False) is None:
        raise DBOSNonExistentWorkflowError("target", workflow_id)


def get_workflow_status(workflow_id: str) -> WorkflowStatus | None:
    """The status of ``workflow_id``, or None if there is no such workflow."""
    status: WorkflowStatus | None = perform_or_else(
        GetStatus(workflow_id), lambda: _status(workflow_id)
    )
    return status


def _status(workflow_id: str) -> WorkflowStatus | None:
    rt = runtime()
    row = rt.store.get_workflow(workflow_id)
    return to_status(row, rt.serializer) if row is not None else None


def get_result(workflow_id: str) -> Any:
    """Wait for ``workflow_id`` to finish; return its result or raise its error."""
    return perform_or_else(GetResult(workflow_id), lambda: _result(workflow_id))


def _result(workflow_id: str) -> Any:
    rt = runtime()
    return rt.result(workflow_id, rt.future(workflow_id), rt.poll_seconds)


def wait_first(
    handles: Sequence[WorkflowHandle[Any]], polling_interval_sec: float = 1.0
) -> WorkflowHandle[Any]:
    """Wait until one of ``handles`` has finished; return that handle.

    Raises ``ValueError`` for an empty list or one naming a workflow twice.
    """
    effect = _wait_first_effect([h.workflow_id for h in handles], polling_interval_sec)
    winner = perform_or_else(effect, lambda: _wait_any(effect))
    return handles[effect.workflow_ids.index(winner)]


def _wait_first_effect(ids: list[str], polling_interval_sec: float) -> WaitFirst:
    if not ids:
        raise ValueError("handles must not be empty")
    if len(set(ids)) != len(ids):
        raise ValueError("handles must not contain duplicate workflow IDs")
    return WaitFirst(tuple(ids), polling_interval_sec)


def _wait_any(effect: WaitFirst) -> str:
    return runtime().wait_any(list(effect.workflow_ids), effect.polling_interval_sec)


def list_workflows(
    *,
    workflow_ids: Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
    start_time: str | None = None,
    end_time: str | None = None,
    name: str | Sequence[str] | None = None,
    app_version: str | Sequence[str] | None = None,
    user: str | Sequence[str] | None = None,
    queue_name: str | Sequence[str] | None = None,
    executor_id: str | Sequence[str] | None = None,
    parent_workflow_id: str | Sequence[str] | None = None,
    forked_from: str | Sequence[str] | None = None,
    workflow_id_prefix: str | Sequence[str] | None = None,
    completed_after: str | None = None,
    completed_before: str | None = None,
    dequeued_after: str | None = None,
    dequeued_before: str | None = None,
    queues_only: bool = False,
    was_forked_from: bool | None = None,
    has_parent: bool | None = None,
    schedule_name: str | Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
    sort_desc: bool = False,
    load_input: bool = True,
    load_output: bool = True,
    attributes: dict[str, Any] | None = None,
    application_name: str | Sequence[str] | None = None,
) -> list[WorkflowStatus]:
    """Workflows matching every filter given, oldest first (newest with ``sort_desc``).

    String-or-list filters match any of their values; times are ISO-8601 strings
    compared inclusively. ``limit`` and ``offset`` apply after ordering.
    """
    query = workflow_query(
        workflow_ids=workflow_ids,
        status=status,
        start_time=start_time,
        end_time=end_time,
        name=name,
        app_version=app_version,
        user=user,
        queue_name=queue_name,
        executor_id=executor_id,
        parent_workflow_id=parent_workflow_id,
        forked_from=forked_from,
        workflow_id_prefix=workflow_id_prefix,
        completed_after=completed_after,
        completed_before=completed_before,
        dequeued_after=dequeued_after,
        dequeued_before=dequeued_before,
        queues_only=queues_only,
        was_forked_from=was_forked_from,
        has_parent=has_parent,
        schedule_name=schedule_name,
        limit=limit,
        offset=offset,
        sort_desc=sort_desc,
        load_input=load_input,
        load_output=load_output,
        attributes=attributes,
        application_name=application_name,
    )
    return query_workflows(query)


def list_workflow_steps(
    workflow_id: str,
    *,
    load_output: bool = True,
    limit: int | None = None,
    offset: int | None = None,
) -> list[StepInfo]:
    """The recorded operations of ``workflow_id``, by function id: ``offset`` skipped,
    at most ``limit`` returned; ``load_output=False`` leaves outputs and errors None."""
    effect = _steps_effect(workflow_id, load_output, limit, offset)
    return perform_or_else(effect, lambda: _steps(effect))


def _steps_effect(
    workflow_id: str, load_output: bool, limit: int | None, offset: int | None
) -> ListWorkflowSteps:
    for label, value in (("limit", limit), ("offset", offset)):
        if value is not None and value < 0:
            raise ValueError(f"{label} must not be negative, got {value}")
    return ListWorkflowSteps(workflow_id, load_output, limit, offset)


def _steps(effect: ListWorkflowSteps) -> list[StepInfo]:
    rt = runtime()
    return [
        to_step_info(c, rt.serializer, load_output=effect.load_output)
        for c in page(rt.store.load_checkpoints(effect.workflow_id), effect.limit, effect.offset)
    ]


def run_step(
    dbos_step_options: StepOptions | None,
    func: Callable[P, R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """Run any callable as a checkpointed step (a plain call outside a workflow)."""
    spec = step_spec_of(func, dbos_step_options)
    if current_workflow() is not None:
        spec.validate()  # DBOS checks the async-only options when recording
    result: R = call_step(spec, args, kwargs)
    return result


def sleep(seconds: float) -> None:
    """Sleep durably: after a crash only the remaining time is waited.

    ``seconds <= 0`` returns at once without a checkpoint. As in DBOS, a positive sleep
    outside any workflow raises ``DBOSException``, and inside a step ``AssertionError``.
    """
    if seconds > 0:
        perform(_sleeper(), Sleep(float(seconds)))


def _sleeper() -> WorkflowState:
    """The workflow whose code sleeps; DBOS's errors anywhere else."""
    frame = current_frame()
    if frame is None:
        raise DBOSException("sleep() must be called from within a workflow")
    if frame.step_id is not None:
        raise AssertionError("sleep() must be called from within a workflow")
    return frame.workflow


# --- async twins ---------------------------------------------------------------


@overload
async def start_workflow_async(
    func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
) -> WorkflowHandleAsync[R]: ...


@overload
async def start_workflow_async(
    func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> WorkflowHandleAsync[R]: ...


async def start_workflow_async(
    func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
) -> WorkflowHandleAsync[Any]:
    """Start a workflow (sync or ``async def``) in the background; await nothing but
    the write of its row. Returns a ``WorkflowHandleAsync``.

    An ``async def`` workflow started outside any workflow runs as a task of this event
    loop (shielded from the caller's cancellation), so loop-bound resources work in it.
    """
    spec = spec_of(func)
    if spec is None or not spec.is_async or current_frame() is not None:
        handle = await asyncio.to_thread(lambda: start_workflow(func, *args, **kwargs))
        return WorkflowHandleAsync(handle)
    spec, call_args = split_target(spec, func, args)
    options = take_start_options()
    workflow_id, future = await start_on_loop(
        runtime(), spec, call_args, kwargs, options=options, inline=False
    )
    return WorkflowHandleAsync(WorkflowHandle(workflow_id, future))


async def sleep_async(seconds: float) -> None:
    """Durable sleep for async workflows (see ``DBOS.sleep``)."""
    if seconds > 0:
        await perform_async(_sleeper(), Sleep(float(seconds)))


async def run_step_async(
    dbos_step_options: StepOptions | None,
    func: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> Any:
    """``DBOS.run_step`` for async code; an ``async def`` function is awaited."""
    spec = step_spec_of(func, dbos_step_options)
    if not inspect.iscoroutinefunction(spec.func):
        return await asyncio.to_thread(call_step, spec, args, kwargs)
    state = current_workflow()
    if state is None:
        return await spec.func(*args, **kwargs)
    return await perform_async(state, spec.validate().effect(args, kwargs))


async def retrieve_workflow_async(
    workflow_id: str, existing_workflow: bool = True
) -> WorkflowHandleAsync[Any]:
    """``DBOS.retrieve_workflow`` returning an async handle."""
    if existing_workflow:
        effect = _exists_effect(workflow_id)
        await perform_or_else_async(effect, lambda: _check_exists(workflow_id))
    return WorkflowHandleAsync(WorkflowHandle(workflow_id))


async def get_result_async(workflow_id: str) -> Any:
    """``DBOS.get_result`` without blocking the loop."""
    return await perform_or_else_async(GetResult(workflow_id), lambda: _result(workflow_id))


async def get_workflow_status_async(workflow_id: str) -> WorkflowStatus | None:
    """``DBOS.get_workflow_status`` without blocking the loop."""
    status: WorkflowStatus | None = await perform_or_else_async(
        GetStatus(workflow_id), lambda: _status(workflow_id)
    )
    return status


async def list_workflows_async(**filters: Any) -> list[WorkflowStatus]:
    """``DBOS.list_workflows`` (same keyword filters) without blocking the loop."""
    return await query_workflows_async(workflow_query(**filters))


async def list_workflow_steps_async(
    workflow_id: str,
    *,
    load_output: bool = True,
    limit: int | None = None,
    offset: int | None = None,
) -> list[StepInfo]:
    """``DBOS.list_workflow_steps`` without blocking the loop."""
    effect = _steps_effect(workflow_id, load_output, limit, offset)
    return await perform_or_else_async(effect, lambda: _steps(effect))


async def wait_first_async(
    handles: Sequence[WorkflowHandleAsync[Any]], polling_interval_sec: float = 1.0
) -> WorkflowHandleAsync[Any]:
    """``DBOS.wait_first`` over async handles."""
    effect = _wait_first_effect([h.workflow_id for h in handles], polling_interval_sec)
    winner = await perform_or_else_async(effect, lambda: _wait_any(effect))
    return handles[effect.workflow_ids.index(winner)]
