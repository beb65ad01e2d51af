"""Queues and schedules on the public API: ``Queue``, ``@DBOS.scheduled`` and
``DBOS.list_queued_workflows``, plus the background threads ``DBOS.launch`` starts.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, overload

import attrs
from typing_extensions import ParamSpec

from transact._core.queue_policy import QueueEntry, validate_entry, validate_limits
from transact._facade.context import ambient_enqueue_options, take_start_options
from transact._facade.decorators import child_start
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.launched import not_a_workflow, runtime
from transact._facade.listing import query_workflows, query_workflows_async, workflow_query
from transact._facade.status import WorkflowStatus
from transact._runtime.interpreter import perform
from transact._runtime.queue_runner import QUEUES, QueueConfig, QueueRunner, enqueue
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import spec_of
from transact._runtime.runtime import Runtime
from transact._runtime.scheduler import SCHEDULES, Schedule, Schedulers, validate_cron
from transact._runtime.state import current_frame
from transact.errors import DBOSException

__all__ = [
    "Background",
    "Queue",
    "forget_queues_and_schedules",
    "list_queued_workflows",
    "scheduled",
]

P = ParamSpec("P")
R = TypeVar("R")
Scheduled = TypeVar("Scheduled", bound=Callable[[datetime, datetime], Any])


class Queue:
    """A queue of workflows, with limits that hold across every process sharing the
    system database. Declare it once per process, at import time, under a unique name.

    Args:
        name: the queue's name (``DBOSException`` if another queue has it).
        concurrency: at most this many of its workflows run at once, in all processes
            together.
        limiter: ``{"limit": n, "period": seconds}``: at most ``n`` workflows start in
            any ``period`` seconds, in all processes together.
        worker_concurrency: at most this many run at once in one process.
        priority_enabled: accepted for DBOS compatibility; priorities always apply.
        partition_queue: every limit applies per partition key
            (``SetEnqueueOptions(queue_partition_key=...)``, required on this queue).
        polling_interval_sec: how often a process looks for work it was not told about
            (an enqueue in this process, or any process on Postgres, wakes it at once).

    Raises ``ValueError`` for invalid limits (not positive, ``worker_concurrency`` above
    ``concurrency``, a limiter without ``limit`` and ``period``).
    """

    def __init__(
        self,
        name: str,
        concurrency: int | None = None,
        limiter: Mapping[str, float] | None = None,
        *,
        worker_concurrency: int | None = None,
        priority_enabled: bool = False,
        partition_queue: bool = False,
        polling_interval_sec: float = 1.0,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a queue name must be a non-empty string, got {name!r}")
        if name == INTERNAL_QUEUE:
            raise DBOSException(f"{INTERNAL_QUEUE!r} is reserved for the library")
        limits = validate_limits(
            concurrency=concurrency,
            worker_concurrency=worker_concurrency,
            limiter=limiter,
            partition_queue=partition_queue,
            polling_interval_sec=polling_interval_sec,
        )
        self.name = name
        self.concurrency = concurrency
        self.worker_concurrency = worker_concurrency
        self.limiter = dict(limiter) if limiter is not None else None
        self.priority_enabled = priority_enabled
        self.partition_queue = partition_queue
        self.polling_interval_sec = float(polling_interval_sec)
        QUEUES.add(QueueConfig(name, limits, self.polling_interval_sec))

    def __repr__(self) -> str:
        return f"Queue({self.name!r})"

    @overload
    def enqueue(
        self, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    @overload
    def enqueue(
        self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    def enqueue(
        self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[Any]:
        """Put workflow ``func(*args, **kwargs)`` on this queue; return a handle to it.

        It never runs in this thread: a queue runner (of this or any other process)
        starts it when the queue's limits allow. ``SetWorkflowID``,
        ``SetWorkflowTimeout`` (counted from when it starts) and ``SetEnqueueOptions``
        apply. Inside a workflow the enqueue is checkpointed like a child start (the
        child's id is derived from the parent's, and a replay attaches to it).

        Raises ``DBOSException`` if ``func`` is not a workflow or this is called inside a
        step, ``ValueError`` if the options do not fit the queue (a partitioned queue
        needs a partition key, others refuse one), ``DBOSQueueDeduplicatedError`` if the
        deduplication id is held.
        """
        spec = spec_of(func)
        if spec is None:
            raise not_a_workflow(func)
        frame = current_frame()
        if frame is not None and frame.step_id is not None:
            raise DBOSException(f"cannot enqueue workflow {spec.name} from inside a step")
        ambient = ambient_enqueue_options()
        entry = validate_entry(
            QueueEntry(
                queue_name=self.name,
                deduplication_id=ambient.deduplication_id,
                priority=ambient.priority or 0,
                partition_key=ambient.queue_partition_key,
                app_version=ambient.app_version,
                delay_seconds=ambient.delay_seconds,
            ),
            partitioned=self.partition_queue,
        )
        options = take_start_options(queued=True)
        rt = runtime()
        if frame is not None:
            effect = child_start(spec, args, kwargs, options, run_inline=False)
            child_id = perform(frame.workflow, attrs.evolve(effect, enqueue=entry))
            return WorkflowHandle(child_id)
        return WorkflowHandle(enqueue(rt, spec, args, kwargs, options=options, entry=entry))

    @overload
    async def enqueue_async(
        self, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    @overload
    async def enqueue_async(
        self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    async def enqueue_async(
        self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[Any]:
        """``enqueue`` for code on an event loop: the row is written in a worker thread
        that carries the caller's context (inside a workflow it is recorded exactly as
        ``enqueue`` is), so the loop is not blocked. Returns a ``WorkflowHandleAsync``."""
        handle = await asyncio.to_thread(lambda: self.enqueue(func, *args, **kwargs))
        return WorkflowHandleAsync(handle)


def scheduled(cron: str) -> Callable[[Scheduled], Scheduled]:
    """Run the decorated workflow at every time of ``cron``, exactly once per time
    however many processes run it.

    Apply it above ``@DBOS.workflow()``; the workflow takes ``(scheduled_time:
    datetime, actual_time: datetime)`` (UTC). ``cron`` has 5 fields, or 6 with
    seconds first. Firing starts at launch (times missed while no process ran are
    not caught up). Raises ``ValueError`` for an invalid cron expression and
    ``DBOSException`` if the function is not a workflow.
    """
    validate_cron(cron)

    def decorate(func: Scheduled) -> Scheduled:
        spec = spec_of(func)
        if spec is None:
            raise DBOSException(
                f"{getattr(func, '__qualname__', func)!r} is not a workflow: put "
                "@DBOS.scheduled above @DBOS.workflow()"
            )
        SCHEDULES.add(Schedule(spec.name, cron))
        return func

    return decorate


def list_queued_workflows(
    *,
    queue_name: str | Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
    name: str | Sequence[str] | None = None,
    workflow_ids: Sequence[str] | None = None,
    app_version: str | Sequence[str] | None = None,
    user: str | Sequence[str] | None = None,
    executor_id: str | Sequence[str] | None = None,
    start_time: str | None = None,
    end_time: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
    sort_desc: bool = False,
    load_input: bool = True,
) -> list[WorkflowStatus]:
    """Workflows waiting on or running from a queue: ENQUEUED, DELAYED and PENDING
    ones with a queue (any status with ``status``), oldest first.

    Filters as in ``list_workflows``; ``queue_name`` selects queues.
    """
    query = workflow_query(
        queue_name=queue_name,
        status=status,
        name=name,
        workflow_ids=workflow_ids,
        app_version=app_version,
        user=user,
        executor_id=executor_id,
        start_time=start_time,
        end_time=end_time,
        limit=limit,
        offset=offset,
        sort_desc=sort_desc,
        load_input=load_input,
        load_output=False,
        queues_only=True,
    )
    return query_workflows(query, queued=True)


async def list_queued_workflows_async(**filters: Any) -> list[WorkflowStatus]:
    """``DBOS.list_queued_workflows`` (same keyword filters) without blocking the loop."""
    inspect.signature(list_queued_workflows).bind(**filters)  # its TypeError for a typo
    query = workflow_query(**filters, load_output=False, queues_only=True)
    return await query_workflows_async(query, queued=True)


class Background:
    """The queue runner and scheduler threads of a launched runtime."""

    def __init__(self, rt: Runtime) -> None:
        self.queues = QueueRunner(rt)
        self.schedules = Schedulers(rt)

    def start(self) -> None:
        """Start serving queues (the internal one too) and firing schedules."""
        self.queues.start(QueueConfig(INTERNAL_QUEUE))
        self.schedules.start()

    def stop(self) -> None:
        """Stop claiming and firing (running workflows are not interrupted here)."""
        self.schedules.stop()
        self.queues.stop()


def forget_queues_and_schedules() -> None:
    """Forget every declared queue and schedule (``destroy(destroy_registry=True)``)."""
    QUEUES.clear()
    SCHEDULES.clear()
