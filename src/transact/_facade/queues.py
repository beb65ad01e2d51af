"""Queues and schedules on the public API: ``Queue`` (from ``queue_object``),
``@DBOS.scheduled`` and ``DBOS.list_queued_workflows``, plus the background threads
``DBOS.launch`` starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from transact._facade.listing import query_workflows, query_workflows_async, workflow_query
from transact._facade.queue_object import Queue
from transact._facade.status import WorkflowStatus
from transact._runtime.dynamic_schedules import DynamicSchedulers
from transact._runtime.queue_definitions import LISTENING
from transact._runtime.queue_runner import QUEUES, QueueConfig, QueueRunner
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import spec_of
from transact._runtime.runtime import Runtime
from transact._runtime.scheduler import SCHEDULES, Schedule, Schedulers, validate_cron
from transact.errors import DBOSException

__all__ = [
    "Background",
    "Queue",
    "forget_queues_and_schedules",
    "list_queued_workflows",
    "scheduled",
]

Scheduled = TypeVar("Scheduled", bound=Callable[[datetime, datetime], Any])


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
    parent_workflow_id: str | Sequence[str] | None = None,
    forked_from: str | Sequence[str] | None = None,
    workflow_id_prefix: str | Sequence[str] | None = None,
    completed_after: str | None = None,
    completed_before: str | None = None,
    dequeued_after: str | None = None,
    dequeued_before: str | None = None,
    has_parent: bool | None = None,
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
        parent_workflow_id=parent_workflow_id,
        forked_from=forked_from,
        workflow_id_prefix=workflow_id_prefix,
        completed_after=completed_after,
        completed_before=completed_before,
        dequeued_after=dequeued_after,
        dequeued_before=dequeued_before,
        has_parent=has_parent,
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
        self.dynamic_schedules = DynamicSchedulers(rt)

    def start(self) -> None:
        """Start serving queues (the internal one too) and firing schedules."""
        self.queues.start(QueueConfig(INTERNAL_QUEUE))
        self.schedules.start()
        self.dynamic_schedules.begin()

    def stop(self) -> None:
        """Stop claiming and firing (running workflows are not interrupted here); the
        next launch serves every queue again unless ``listen_queues`` says otherwise."""
        self.dynamic_schedules.stop()
        self.schedules.stop()
        self.queues.stop()
        LISTENING.clear()


def forget_queues_and_schedules() -> None:
    """Forget every declared queue and schedule (``destroy(destroy_registry=True)``)."""
    QUEUES.clear()
    SCHEDULES.clear()
    LISTENING.clear()
