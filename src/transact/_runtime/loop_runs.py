"""Async workflows run on the caller's event loop, as DBOS runs them.

An ``async def`` workflow called (``await wf()``) or started (``start_workflow_async``)
from code on a running loop runs there, as a task of that loop: resources bound to the
loop (an ``asyncio.Lock``, an async database pool created on it) work inside it. Only
the row's write and the outcome's go to worker threads. Recovered and dequeued async
workflows run on the application's main loop (``Runtime.main_loop``: running when DBOS
was launched, or the web server's) if there is one, else on a worker thread's own loop.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Future
from typing import Any

from transact._runtime.options import StartOptions
from transact._runtime.registry import WorkflowSpec
from transact._runtime.runtime import Runtime

# Tasks of started workflows, referenced until they finish (the loop keeps only weak ones).
_TASKS: set[asyncio.Task[None]] = set()


async def start_on_loop(
    runtime: Runtime,
    spec: WorkflowSpec,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    options: StartOptions,
    inline: bool,
) -> tuple[str, Future[Any] | None]:
    """Write the row of a root async workflow (in a worker thread), then run it on this
    loop: awaited here when ``inline`` (a direct call), else as a task shielded from the
    caller's cancellation. Returns its id and, if this call runs it, its future (None
    when the id existed: the workflow is awaited, not run again)."""
    workflow_id, record = await asyncio.to_thread(_insert, runtime, spec, args, kwargs, options)
    if record is None:
        return workflow_id, None
    state, future = runtime.register(record, spec)
    body = runtime.run_async(state, spec, args, kwargs, future)
    if inline:
        await body
    else:
        task = asyncio.get_running_loop().create_task(body)
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)
    return workflow_id, future


def _insert(
    runtime: Runtime,
    spec: WorkflowSpec,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: StartOptions,
) -> tuple[str, Any]:
    workflow_id = options.workflow_id or str(uuid.uuid4())
    record = runtime.new_record(spec, workflow_id, args, kwargs, options=options)
    _, created = runtime.insert(record, fresh_id=options.workflow_id is None)
    return workflow_id, record if created else None
