"""``DBOSClient``'s members beyond reading and messaging: enqueueing by name, bulk
management, delays, attributes, rewind, application versions and schedules. Each is a
function of the client (``self``), named in ``DBOSClient``'s class body."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from transact._client import operations
from transact._client.connection import ClientBase
from transact._client.handles import WorkflowHandleClientAsyncPolling, WorkflowHandleClientPolling
from transact._client.twins import twin
from transact._facade import remote
from transact._facade.api_enqueue import EnqueueOptions
from transact._facade.api_queues import OnConflict
from transact._facade.api_schedules import ClientScheduleInput, WorkflowSchedule
from transact._facade.arguments import check_workflow_id
from transact._facade.loop_guard import warn_if_on_loop
from transact._facade.queue_object import Queue
from transact._facade.queue_settings import make_record
from transact._facade.types import VersionInfo
from transact._runtime.clock import now_ms
from transact._runtime.dynamic_schedules import iso, schedule_times
from transact._runtime.recovery import INTERNAL_QUEUE
from transact.errors import DBOSException


def enqueue(
    self: ClientBase, options: EnqueueOptions, *args: Any, **kwargs: Any
) -> WorkflowHandleClientPolling[Any]:
    """Enqueue workflow ``options["workflow_name"]`` on ``options["queue_name"]``
    with ``args`` and ``kwargs`` (DBOS's ``EnqueueOptions``: id, timeout, priority,
    deduplication, partition, delay, app version, class and instance names,
    attributes). An executor serving the queue runs it."""
    workflow_id = operations.enqueue(
        self._connection, options, args, kwargs, application_name=self.application_name
    )
    return WorkflowHandleClientPolling(workflow_id, self._connection)


async def enqueue_async(
    self: ClientBase, options: EnqueueOptions, *args: Any, **kwargs: Any
) -> WorkflowHandleClientAsyncPolling[Any]:
    """``enqueue`` without blocking the event loop."""
    handle = await asyncio.to_thread(lambda: enqueue(self, options, *args, **kwargs))
    return WorkflowHandleClientAsyncPolling(handle.workflow_id, self._connection)


def cancel_workflows(self: ClientBase, workflow_ids: Sequence[str]) -> None:
    """Cancel every workflow named (unknown ids are skipped)."""
    operations.cancel_many(self._connection, [check_workflow_id(w) for w in workflow_ids])


cancel_workflows_async = twin(cancel_workflows)


def resume_workflows(
    self: ClientBase, workflow_ids: Sequence[str]
) -> list[WorkflowHandleClientPolling[Any]]:
    """Resume every workflow named; their handles."""
    for workflow_id in workflow_ids:
        remote.resume(self._connection.remote, check_workflow_id(workflow_id))
    return [WorkflowHandleClientPolling(w, self._connection) for w in workflow_ids]


resume_workflows_async = twin(resume_workflows)


def delete_workflows(
    self: ClientBase, workflow_ids: Sequence[str], delete_children: bool = False
) -> None:
    """Delete every workflow named (and their descendants with ``delete_children``)."""
    operations.delete_many(self._connection, workflow_ids, delete_children)


delete_workflows_async = twin(delete_workflows)


def set_workflow_delay(
    self: ClientBase,
    workflow_id: str,
    *,
    delay_seconds: float | None = None,
    delay_until_epoch_ms: int | None = None,
) -> None:
    """Change when a DELAYED workflow becomes ENQUEUED."""
    operations.set_delay(self._connection, workflow_id, delay_seconds, delay_until_epoch_ms)


set_workflow_delay_async = twin(set_workflow_delay)


def update_workflow_attributes(
    self: ClientBase, workflow_id: str, attributes: dict[str, Any] | None, *, merge: bool = False
) -> None:
    """Replace the workflow's attributes (or with ``merge``, add to them)."""
    operations.update_attributes(self._connection, workflow_id, attributes, merge)


update_workflow_attributes_async = twin(update_workflow_attributes)


def rewind_workflow(
    self: ClientBase, workflow_id: str, start_step: int, *, queue_name: str | None = None
) -> WorkflowHandleClientPolling[Any]:
    """Run a finished workflow again from ``start_step``, in place, on an executor."""
    operations.rewind(self._connection, workflow_id, start_step, queue_name or INTERNAL_QUEUE)
    return WorkflowHandleClientPolling(workflow_id, self._connection)


rewind_workflow_async = twin(rewind_workflow)


def list_application_versions(self: ClientBase) -> list[VersionInfo]:
    """Every recorded application version, the latest first."""
    return operations.versions(self._connection, None)


list_application_versions_async = twin(list_application_versions)


def get_latest_application_version(self: ClientBase) -> VersionInfo:
    """The latest application version; ``DBOSException`` if none is recorded."""
    versions = operations.versions(self._connection, None)
    if not versions:
        raise DBOSException("No application versions found")
    return versions[0]


get_latest_application_version_async = twin(get_latest_application_version)


def set_latest_application_version(
    self: ClientBase, version_name: str, *, application_name: str | None = None
) -> None:
    """Make ``version_name`` the latest: unversioned work goes to its executors."""
    operations.set_latest(self._connection, version_name, application_name)


set_latest_application_version_async = twin(set_latest_application_version)


def list_schedules(
    self: ClientBase,
    *,
    status: str | Sequence[str] | None = None,
    workflow_name: str | Sequence[str] | None = None,
    schedule_name_prefix: str | Sequence[str] | None = None,
    application_name: str | None = None,
) -> list[WorkflowSchedule]:
    """The schedules matching every filter given, by name."""
    return operations.schedules(self._connection, status, workflow_name, schedule_name_prefix)


list_schedules_async = twin(list_schedules)


def get_schedule(self: ClientBase, name: str) -> WorkflowSchedule | None:
    """The schedule called ``name``, or None."""
    row = self._connection.store.get_schedule(name)
    return None if row is None else operations.schedule(self._connection, row)


get_schedule_async = twin(get_schedule)


def pause_schedule(self: ClientBase, name: str) -> None:
    """Stop firing the schedule until ``resume_schedule`` (every process sees it)."""
    self._connection.store.set_schedule_status(name, "PAUSED")


pause_schedule_async = twin(pause_schedule)


def resume_schedule(self: ClientBase, name: str) -> None:
    """Fire a paused schedule again."""
    self._connection.store.set_schedule_status(name, "ACTIVE")


resume_schedule_async = twin(resume_schedule)


def delete_schedule(self: ClientBase, name: str) -> None:
    """Delete the schedule (its workflows already enqueued stay)."""
    self._connection.store.delete_schedule(name)


delete_schedule_async = twin(delete_schedule)


def create_schedule(
    self: ClientBase,
    *,
    schedule_name: str,
    workflow_name: str,
    schedule: str,
    context: Any = None,
    workflow_class_name: str | None = None,
    automatic_backfill: bool = False,
    cron_timezone: str | None = None,
    queue_name: str | None = None,
    application_name: str | None = None,
) -> None:
    """Create a schedule of the workflow named ``workflow_name`` (DBOS's checks);
    ``DBOSException`` if the name is taken. The application's processes fire it."""
    spec: ClientScheduleInput = {
        "schedule_name": schedule_name,
        "workflow_name": workflow_name,
        "workflow_class_name": workflow_class_name,
        "schedule": schedule,
        "context": context,
        "automatic_backfill": automatic_backfill,
        "cron_timezone": cron_timezone,
        "queue_name": queue_name,
    }
    if not self._connection.store.create_schedule(operations.schedule_row(self._connection, spec)):
        raise DBOSException(f"Schedule '{schedule_name}' already exists")


create_schedule_async = twin(create_schedule)


def apply_schedules(self: ClientBase, schedules: Sequence[ClientScheduleInput]) -> None:
    """Create or update every schedule given, in one transaction (existing ones keep
    their id, status and last firing)."""
    rows = [operations.schedule_row(self._connection, spec) for spec in schedules]
    self._connection.store.apply_schedules(rows)


apply_schedules_async = twin(apply_schedules)


def backfill_schedule(
    self: ClientBase, schedule_name: str, start: datetime, end: datetime
) -> list[WorkflowHandleClientPolling[Any]]:
    """Enqueue every time of the schedule strictly between ``start`` and ``end`` (naive
    datetimes are UTC) under the ids its firings take: a time already run is not run
    again. A handle per time."""
    connection = self._connection
    found = operations.existing_schedule(connection, schedule_name)
    end = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
    handles: list[WorkflowHandleClientPolling[Any]] = []
    for scheduled in schedule_times(found.schedule, found.cron_timezone, start):
        if scheduled >= end:
            break
        workflow_id = f"sched-{schedule_name}-{iso(scheduled)}"
        operations.fire(connection, found, scheduled, workflow_id)
        handles.append(WorkflowHandleClientPolling(workflow_id, connection))
    return handles


backfill_schedule_async = twin(backfill_schedule)


def trigger_schedule(self: ClientBase, schedule_name: str) -> WorkflowHandleClientPolling[Any]:
    """Run the schedule's workflow now, once, outside its cron times."""
    connection = self._connection
    found = operations.existing_schedule(connection, schedule_name)
    now = datetime.fromtimestamp(connection.env.clock.now(), timezone.utc)
    workflow_id = f"sched-{schedule_name}-trigger-{iso(now)}"
    operations.fire(connection, found, now, workflow_id)
    return WorkflowHandleClientPolling(workflow_id, connection)


trigger_schedule_async = twin(trigger_schedule)


def register_queue(
    self: ClientBase,
    name: str,
    *,
    worker_concurrency: int | None = None,
    global_concurrency: int | None = None,
    partition_concurrency: int | None = None,
    partition_worker_concurrency: int | None = None,
    partition_limiter: dict[str, float] | None = None,
    limiter: dict[str, float] | None = None,
    polling_interval_sec: float = 1.0,
    on_conflict: OnConflict = "always_update",
    concurrency: int | None = None,
    priority_enabled: bool = False,
    partition_queue: bool = False,
    application_name: str | None = None,
) -> Queue:
    """Keep queue ``name`` in the database (``always_update`` by default, as DBOS's
    client); the returned ``Queue`` configures it but cannot enqueue. Every process
    serving it applies the settings within a second."""
    warn_if_on_loop("DBOSClient.register_queue", "DBOSClient.register_queue_async")
    if on_conflict not in ("update_if_latest_version", "always_update", "never_update"):
        raise ValueError(f"invalid on_conflict {on_conflict!r}")
    record = make_record(
        name,
        concurrency=concurrency,
        global_concurrency=global_concurrency,
        worker_concurrency=worker_concurrency,
        limiter=limiter,
        partition_concurrency=partition_concurrency,
        partition_worker_concurrency=partition_worker_concurrency,
        partition_limiter=partition_limiter,
        priority_enabled=priority_enabled,
        partition_queue=partition_queue,
        polling_interval_sec=polling_interval_sec,
        now_ms=now_ms(self._connection.env.clock),
    )
    store = self._connection.store
    store.put_queue(record, replace=on_conflict != "never_update")
    return Queue.stored(name, store)


register_queue_async = twin(register_queue)


def retrieve_queue(self: ClientBase, name: str) -> Queue | None:
    """The queue ``name`` kept in the database (client-bound), or None."""
    warn_if_on_loop("DBOSClient.retrieve_queue", "DBOSClient.retrieve_queue_async")
    store = self._connection.store
    return None if store.get_queue(name) is None else Queue.stored(name, store)


retrieve_queue_async = twin(retrieve_queue)


def delete_queue(self: ClientBase, name: str) -> None:
    """Delete queue ``name``: every process stops serving it within a second."""
    warn_if_on_loop("DBOSClient.delete_queue", "DBOSClient.delete_queue_async")
    self._connection.store.delete_queue(name)


delete_queue_async = twin(delete_queue)


def list_queues(self: ClientBase, *, application_name: str | None = None) -> list[Queue]:
    """Every queue kept in the database (client-bound), by name."""
    warn_if_on_loop("DBOSClient.list_queues", "DBOSClient.list_queues_async")
    store = self._connection.store
    return [Queue.stored(record.name, store) for record in store.list_queues()]


list_queues_async = twin(list_queues)
