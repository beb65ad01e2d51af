"""Starting, awaiting and inspecting workflows on the ``DBOS`` class."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar, overload

from typing_extensions import ParamSpec

from transact._core.effects import (
    GetResult,
    GetStatus,
    ListWorkflowSteps,
    RunStep,
    Sleep,
    WaitFirst,
)
from transact._facade.context import take_start_options
from transact._facade.decorators import StepOptions, call_step, child_start, step_spec_of
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.launched import runtime
from transact._facade.listing import query_workflows, workflow_query
from transact._facade.status import StepInfo, WorkflowStatus, to_status, to_step_info
from transact._runtime.async_driver import perform_async
from transact._runtime.interpreter import perform
from transact._runtime.registry import spec_of
from transact._runtime.state import current_frame, current_workflow
from transact.errors import DBOSException, DBOSNonExistentWorkflowError

P = ParamSpec("P")
R = TypeVar("R")


class WorkflowsAPI:
    """The workflow half of the ``DBOS`` class (mixed into it)."""

    @overload
    @classmethod
    def start_workflow(
        cls, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    @overload
    @classmethod
    def start_workflow(
        cls, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    @classmethod
    def start_workflow(
        cls, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[Any]:
        """Start workflow ``func`` in the background; return a handle to it.

        The row is written before this returns, so the workflow survives a crash from
        then on. Raises ``DBOSException`` if ``func`` is not a ``@DBOS.workflow()``.
        """
        spec = spec_of(func)
        if spec is None:
            raise DBOSException(
                f"{getattr(func, '__qualname__', func)!r} is not a workflow: decorate it "
                "with @DBOS.workflow() before starting it"
            )
        frame = current_frame()
        if frame is not None and frame.step_id is not None:
            raise DBOSException(f"cannot start workflow {spec.name} from inside a step")
        options = take_start_options()
        rt = runtime()
        if frame is not None:
            child_id = perform(
                frame.workflow,
                child_start(spec, args, kwargs, options, run_inline=False),
            )
            return WorkflowHandle(child_id)
        workflow_id, future = rt.start(spec, args, kwargs, options=options, inline=False)
        return WorkflowHandle(workflow_id, future)

    @classmethod
    def retrieve_workflow(
        cls, workflow_id: str, existing_workflow: bool = True
    ) -> WorkflowHandle[Any]:
        """A handle to ``workflow_id``; with ``existing_workflow`` it must exist
        (``DBOSNonExistentWorkflowError`` otherwise)."""
        if existing_workflow:
            state = current_workflow()
            if state is not None:
                perform(state, GetStatus(workflow_id, must_exist=True, check_only=True))
            elif (
                runtime().store.get_workflow(workflow_id, load_input=False, load_output=False)
                is None
            ):
                raise DBOSNonExistentWorkflowError("Workflow", workflow_id)
        return WorkflowHandle(workflow_id)

    @classmethod
    def get_workflow_status(cls, workflow_id: str) -> WorkflowStatus | None:
        """The status of ``workflow_id``, or None if there is no such workflow."""
        state = current_workflow()
        if state is not None:
            status: WorkflowStatus | None = perform(state, GetStatus(workflow_id))
            return status
        rt = runtime()
        row = rt.store.get_workflow(workflow_id)
        return to_status(row, rt.serializer) if row is not None else None

    @classmethod
    def get_result(cls, workflow_id: str) -> Any:
        """Wait for ``workflow_id`` to finish; return its result or raise its error."""
        state = current_workflow()
        if state is not None:
            return perform(state, GetResult(workflow_id))
        rt = runtime()
        return rt.result(workflow_id, rt.future(workflow_id), rt.poll_seconds)

    @classmethod
    def wait_first(
        cls, handles: Sequence[WorkflowHandle[Any]], polling_interval_sec: float = 1.0
    ) -> WorkflowHandle[Any]:
        """Wait until one of ``handles`` has finished; return that handle.

        Raises ``ValueError`` for an empty list or one naming a workflow twice.
        """
        if not handles:
            raise ValueError("wait_first needs at least one handle")
        ids = [h.workflow_id for h in handles]
        if len(set(ids)) != len(ids):
            raise ValueError("wait_first got the same workflow twice")
        state = current_workflow()
        if state is not None:
            winner: str = perform(state, WaitFirst(tuple(ids), polling_interval_sec))
            return handles[ids.index(winner)]
        done = runtime().wait_any(ids, polling_interval_sec)
        return handles[ids.index(done)]

    @classmethod
    def list_workflows(
        cls,
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
        limit: int | None = None,
        offset: int | None = None,
        sort_desc: bool = False,
        load_input: bool = True,
        load_output: bool = True,
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
            limit=limit,
            offset=offset,
            sort_desc=sort_desc,
            load_input=load_input,
            load_output=load_output,
        )
        return query_workflows(query, "DBOS.listWorkflows")

    @classmethod
    def list_workflow_steps(cls, workflow_id: str, *, load_output: bool = True) -> list[StepInfo]:
        """Every recorded operation of ``workflow_id``, by function id."""
        state = current_workflow()
        if state is not None:
            steps: list[StepInfo] = perform(state, ListWorkflowSteps(workflow_id, load_output))
            return steps
        rt = runtime()
        return [
            to_step_info(c, rt.serializer, load_output=load_output)
            for c in rt.store.load_checkpoints(workflow_id)
        ]

    @classmethod
    def run_step(
        cls,
        dbos_step_options: StepOptions | None,
        func: Callable[P, R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run any callable as a checkpointed step (a plain call outside a workflow)."""
        spec = step_spec_of(func, dbos_step_options)
        result: R = call_step(spec, args, kwargs)
        return result

    @classmethod
    def sleep(cls, seconds: float) -> None:
        """Sleep durably: after a crash only the remaining time is waited.

        Inside a step it is an ordinary sleep; outside any workflow it raises
        ``DBOSException``. ``seconds <= 0`` returns at once without a checkpoint.
        """
        frame = current_frame()
        if frame is None:
            raise DBOSException("DBOS.sleep is only allowed inside a workflow")
        if frame.step_id is not None:
            time.sleep(max(seconds, 0.0))
            return
        if seconds > 0:
            perform(frame.workflow, Sleep(float(seconds)))

    # --- async twins ---------------------------------------------------------------

    @overload
    @classmethod
    async def start_workflow_async(
        cls, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    @overload
    @classmethod
    async def start_workflow_async(
        cls, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    @classmethod
    async def start_workflow_async(
        cls, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[Any]:
        """Start a workflow (sync or ``async def``) in the background; await nothing but
        the write of its row. Returns a ``WorkflowHandleAsync``."""
        handle = await asyncio.to_thread(lambda: cls.start_workflow(func, *args, **kwargs))
        return WorkflowHandleAsync(handle)

    @classmethod
    async def sleep_async(cls, seconds: float) -> None:
        """Durable sleep for async workflows (see ``cls.sleep``)."""
        frame = current_frame()
        if frame is None:
            raise DBOSException("cls.sleep_async is only allowed inside a workflow")
        if frame.step_id is not None:
            await asyncio.sleep(max(seconds, 0.0))
        elif seconds > 0:
            await perform_async(frame.workflow, Sleep(float(seconds)))

    @classmethod
    async def run_step_async(
        cls,
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
        return await perform_async(state, RunStep(spec.name, spec.func, args, kwargs, spec.retry))

    @classmethod
    async def retrieve_workflow_async(
        cls, workflow_id: str, existing_workflow: bool = True
    ) -> WorkflowHandleAsync[Any]:
        """``DBOS.retrieve_workflow`` returning an async handle."""
        handle = await asyncio.to_thread(cls.retrieve_workflow, workflow_id, existing_workflow)
        return WorkflowHandleAsync(handle)

    @classmethod
    async def get_result_async(cls, workflow_id: str) -> Any:
        """``DBOS.get_result`` without blocking the loop."""
        return await asyncio.to_thread(cls.get_result, workflow_id)

    @classmethod
    async def get_workflow_status_async(cls, workflow_id: str) -> WorkflowStatus | None:
        """``DBOS.get_workflow_status`` without blocking the loop."""
        return await asyncio.to_thread(cls.get_workflow_status, workflow_id)

    @classmethod
    async def list_workflows_async(cls, **filters: Any) -> list[WorkflowStatus]:
        """``DBOS.list_workflows`` (same keyword filters) without blocking the loop."""
        return await asyncio.to_thread(lambda: cls.list_workflows(**filters))

    @classmethod
    async def list_workflow_steps_async(cls, workflow_id: str) -> list[StepInfo]:
        """``DBOS.list_workflow_steps`` without blocking the loop."""
        return await asyncio.to_thread(cls.list_workflow_steps, workflow_id)

    @classmethod
    async def wait_first_async(
        cls, handles: Sequence[WorkflowHandleAsync[Any]], polling_interval_sec: float = 1.0
    ) -> WorkflowHandleAsync[Any]:
        """``DBOS.wait_first`` over async handles."""
        sync_handles = [WorkflowHandle[Any](h.workflow_id) for h in handles]
        done = await asyncio.to_thread(cls.wait_first, sync_handles, polling_interval_sec)
        return handles[sync_handles.index(done)]
