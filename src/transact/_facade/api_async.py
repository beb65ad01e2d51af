"""The ``*_async`` twins of the ``DBOS`` class, for code running on an event loop.

Each twin does what its synchronous twin does without blocking the loop: the blocking
part runs in a worker thread that carries the caller's context (so, inside a workflow,
it is recorded in that workflow exactly like the synchronous call). In workflow code,
the operations that take function ids (steps, child workflows, ``sleep_async``, and the
messages, events and streams twins) take them before their first ``await``, so
operations gathered with ``asyncio.gather`` get ids in call order and replay
deterministically. The recorded calls that remain (``get_all_events_async``, the status
and listing twins) take theirs in the worker thread: await those one after the other.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar, overload

from typing_extensions import ParamSpec

from transact._core.effects import CloseStream, RunStep, SetEvent, Sleep, WriteStream
from transact._facade.api_communication import (
    check_key,
    get_event_effect,
    recv_effect,
    send_effect,
)
from transact._facade.decorators import StepOptions, call_step, step_spec_of
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.status import StepInfo, WorkflowStatus
from transact._runtime.async_driver import perform_async
from transact._runtime.state import current_frame, current_workflow
from transact.errors import DBOSException

P = ParamSpec("P")
R = TypeVar("R")


class AsyncAPI:
    """The asynchronous half of the ``DBOS`` class (mixed into it)."""

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
        from transact._facade.dbos import DBOS

        handle = await asyncio.to_thread(lambda: DBOS.start_workflow(func, *args, **kwargs))
        return WorkflowHandleAsync(handle)

    @classmethod
    async def sleep_async(cls, seconds: float) -> None:
        """Durable sleep for async workflows (see ``DBOS.sleep``)."""
        frame = current_frame()
        if frame is None:
            raise DBOSException("DBOS.sleep_async is only allowed inside a workflow")
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
        from transact._facade.dbos import DBOS

        handle = await asyncio.to_thread(DBOS.retrieve_workflow, workflow_id, existing_workflow)
        return WorkflowHandleAsync(handle)

    @classmethod
    async def get_result_async(cls, workflow_id: str) -> Any:
        """``DBOS.get_result`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        return await asyncio.to_thread(DBOS.get_result, workflow_id)

    @classmethod
    async def get_workflow_status_async(cls, workflow_id: str) -> WorkflowStatus | None:
        """``DBOS.get_workflow_status`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        return await asyncio.to_thread(DBOS.get_workflow_status, workflow_id)

    @classmethod
    async def list_workflows_async(cls, **filters: Any) -> list[WorkflowStatus]:
        """``DBOS.list_workflows`` (same keyword filters) without blocking the loop."""
        from transact._facade.dbos import DBOS

        return await asyncio.to_thread(lambda: DBOS.list_workflows(**filters))

    @classmethod
    async def list_workflow_steps_async(cls, workflow_id: str) -> list[StepInfo]:
        """``DBOS.list_workflow_steps`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        return await asyncio.to_thread(DBOS.list_workflow_steps, workflow_id)

    @classmethod
    async def wait_first_async(
        cls, handles: Sequence[WorkflowHandleAsync[Any]], polling_interval_sec: float = 1.0
    ) -> WorkflowHandleAsync[Any]:
        """``DBOS.wait_first`` over async handles."""
        from transact._facade.dbos import DBOS

        sync_handles = [WorkflowHandle[Any](h.workflow_id) for h in handles]
        done = await asyncio.to_thread(DBOS.wait_first, sync_handles, polling_interval_sec)
        return handles[sync_handles.index(done)]

    @classmethod
    async def cancel_workflow_async(cls, workflow_id: str) -> None:
        """``DBOS.cancel_workflow`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        await asyncio.to_thread(DBOS.cancel_workflow, workflow_id)

    @classmethod
    async def resume_workflow_async(cls, workflow_id: str) -> WorkflowHandleAsync[Any]:
        """``DBOS.resume_workflow`` returning an async handle."""
        from transact._facade.dbos import DBOS

        return WorkflowHandleAsync(await asyncio.to_thread(DBOS.resume_workflow, workflow_id))

    @classmethod
    async def send_async(
        cls,
        destination_id: str,
        message: Any,
        topic: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """``DBOS.send`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        effect = send_effect(destination_id, message, topic, idempotency_key)
        state = current_workflow()
        if state is not None:
            await perform_async(state, effect)
            return
        await asyncio.to_thread(DBOS.send, destination_id, message, topic, idempotency_key)

    @classmethod
    async def recv_async(cls, topic: str | None = None, timeout_seconds: float = 60) -> Any:
        """``DBOS.recv`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        effect = recv_effect(topic, timeout_seconds)
        state = current_workflow()
        if state is not None:
            return await perform_async(state, effect)
        return await asyncio.to_thread(DBOS.recv, topic, timeout_seconds)  # raises as it does

    @classmethod
    async def set_event_async(cls, key: str, value: Any) -> None:
        """``DBOS.set_event`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        state = current_workflow()
        if state is not None:
            await perform_async(state, SetEvent(check_key(key, "the event key"), value))
            return
        await asyncio.to_thread(DBOS.set_event, key, value)

    @classmethod
    async def get_event_async(cls, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
        """``DBOS.get_event`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        effect = get_event_effect(workflow_id, key, timeout_seconds)
        state = current_workflow()
        if state is not None:
            return await perform_async(state, effect)
        return await asyncio.to_thread(DBOS.get_event, workflow_id, key, timeout_seconds)

    @classmethod
    async def get_all_events_async(cls, workflow_id: str) -> dict[str, Any]:
        """``DBOS.get_all_events`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        return await asyncio.to_thread(DBOS.get_all_events, workflow_id)

    @classmethod
    async def write_stream_async(cls, key: str, value: Any) -> None:
        """``DBOS.write_stream`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        state = current_workflow()
        if state is not None:
            await perform_async(state, WriteStream(check_key(key, "the stream key"), value))
            return
        await asyncio.to_thread(DBOS.write_stream, key, value)

    @classmethod
    async def close_stream_async(cls, key: str) -> None:
        """``DBOS.close_stream`` without blocking the loop."""
        from transact._facade.dbos import DBOS

        state = current_workflow()
        if state is not None:
            await perform_async(state, CloseStream(check_key(key, "the stream key")))
            return
        await asyncio.to_thread(DBOS.close_stream, key)
