"""DBOS 3's schedules created at run time, on ``DBOS``: ``create_schedule``,
``list_schedules``, ``get_schedule``, ``delete_schedule``, ``pause_schedule``,
``resume_schedule``, ``apply_schedules``, ``backfill_schedule`` and ``trigger_schedule``
(each with its ``_async`` twin), and the ``WorkflowSchedule`` / ``ScheduleInput`` types.

The schedules live in the ``workflow_schedules`` table; every launched process fires
them (``_runtime/dynamic_schedules.py``), each time once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, TypedDict, TypeVar
from zoneinfo import ZoneInfo

from croniter import croniter

from transact._facade.decorators import as_step
from transact._facade.handles import WorkflowHandle
from transact._facade.launched import runtime
from transact._runtime.dynamic_schedules import (
    fire_schedule,
    iso,
    refresh_schedules,
    schedule_times,
)
from transact._runtime.queue_definitions import QUEUES
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import spec_of
from transact._runtime.state import current_frame
from transact._serialization import serialize_value
from transact._store.records import ScheduleRecord
from transact.errors import DBOSException

__all__ = [
    "ScheduleInput",
    "WorkflowSchedule",
    "apply_schedules",
    "backfill_schedule",
    "create_schedule",
    "delete_schedule",
    "get_schedule",
    "list_schedules",
    "pause_schedule",
    "resume_schedule",
    "trigger_schedule",
]

T = TypeVar("T")


class WorkflowSchedule(TypedDict):
    """A schedule as ``DBOS.get_schedule`` and ``DBOS.list_schedules`` return it."""

    schedule_id: str
    schedule_name: str
    workflow_name: str
    workflow_class_name: str | None
    schedule: str
    status: str
    context: Any
    last_fired_at: str | None
    automatic_backfill: bool
    cron_timezone: str | None
    queue_name: str | None
    application_name: str | None


class ClientScheduleInput(TypedDict, total=False):
    """One schedule of ``DBOSClient.apply_schedules``: the workflow by name."""

    schedule_name: str
    workflow_name: str
    workflow_class_name: str | None
    schedule: str
    context: Any
    automatic_backfill: bool
    cron_timezone: str | None
    queue_name: str | None


class ScheduleInput(TypedDict, total=False):
    """One schedule of ``DBOS.apply_schedules``."""

    schedule_name: str
    workflow_fn: Callable[..., Any]
    schedule: str
    context: Any
    automatic_backfill: bool
    cron_timezone: str | None
    queue_name: str | None


def check_cron(schedule: str) -> None:
    """DBOS's error for a schedule that is not a 5- or 6-field cron expression."""
    if not isinstance(schedule, str) or not croniter.is_valid(schedule, second_at_beginning=True):
        raise DBOSException(f"Invalid cron schedule: '{schedule}'")


def check_timezone(cron_timezone: str | None) -> None:
    """DBOS's error for a time zone that is not an IANA name."""
    if cron_timezone is None:
        return
    try:
        ZoneInfo(cron_timezone)
    except Exception as exc:
        raise DBOSException(f"Invalid timezone: '{cron_timezone}'") from exc


def _check_queue(queue_name: str | None) -> None:
    if queue_name is None or queue_name == INTERNAL_QUEUE or QUEUES.get(queue_name) is not None:
        return
    if runtime().store.get_queue(queue_name) is None:
        raise DBOSException(
            f"Queue '{queue_name}' is not declared. Please create the queue before using "
            "it in a schedule."
        )


def _workflow_name(workflow_fn: Callable[..., Any]) -> str:
    spec = spec_of(workflow_fn)
    if spec is None:
        name = getattr(workflow_fn, "__qualname__", repr(workflow_fn))
        raise DBOSException(f"Workflow function '{name}' is not registered")
    bound = getattr(workflow_fn, "__self__", None)
    if bound is not None and not isinstance(bound, type):
        raise DBOSException("Configured instance methods cannot be used as scheduled workflows")
    return spec.name


def _record(
    *,
    schedule_name: str,
    workflow_name: str,
    schedule: str,
    context: Any,
    automatic_backfill: bool,
    cron_timezone: str | None,
    queue_name: str | None,
) -> ScheduleRecord:
    return ScheduleRecord(
        schedule_id=str(uuid.uuid4()),
        schedule_name=schedule_name,
        workflow_name=workflow_name,
        schedule=schedule,
        context=serialize_value(runtime().serializer, context, "the schedule's context"),
        automatic_backfill=bool(automatic_backfill),
        cron_timezone=cron_timezone,
        queue_name=queue_name,
    )


def _public(record: ScheduleRecord) -> WorkflowSchedule:
    return WorkflowSchedule(
        schedule_id=record.schedule_id,
        schedule_name=record.schedule_name,
        workflow_name=record.workflow_name,
        workflow_class_name=record.workflow_class_name,
        schedule=record.schedule,
        status=record.status,
        context=runtime().serializer.deserialize(record.context),
        last_fired_at=record.last_fired_at,
        automatic_backfill=record.automatic_backfill,
        cron_timezone=record.cron_timezone,
        queue_name=record.queue_name,
        application_name=None,
    )


def _outside_workflows(what: str) -> None:
    if current_frame() is not None:
        raise DBOSException(f"DBOS.{what} cannot be called from within a workflow")


def create_schedule(
    *,
    schedule_name: str,
    workflow_fn: Callable[..., Any],
    schedule: str,
    context: Any = None,
    automatic_backfill: bool = False,
    cron_timezone: str | None = None,
    queue_name: str | None = None,
) -> None:
    """Create a schedule: every time of cron ``schedule`` (5 fields, or 6 with seconds
    first, in IANA time zone ``cron_timezone``, UTC by default) runs
    ``workflow_fn(scheduled_time, context)`` once, on ``queue_name`` (or the internal
    queue), in whichever process of the application gets there first.

    With ``automatic_backfill`` the times missed while no process ran are run when a
    process starts firing it. Raises ``DBOSException`` for an invalid cron, an unknown
    queue, an unregistered workflow, an invalid time zone or a taken name.
    """
    check_cron(schedule)
    _check_queue(queue_name)
    name = _workflow_name(workflow_fn)
    check_timezone(cron_timezone)
    record = _record(
        schedule_name=schedule_name,
        workflow_name=name,
        schedule=schedule,
        context=context,
        automatic_backfill=automatic_backfill,
        cron_timezone=cron_timezone,
        queue_name=queue_name,
    )
    if not as_step("DBOS.createSchedule", lambda: runtime().store.create_schedule(record)):
        raise DBOSException(f"Schedule '{schedule_name}' already exists")
    refresh_schedules()


def apply_schedules(schedules: Sequence[ScheduleInput]) -> None:
    """Create or update every schedule by name, atomically: nothing is written if one
    is invalid. An existing schedule keeps its id, status and last firing time.

    Raises ``DBOSException`` inside a workflow, for a missing field, or as
    ``create_schedule`` does.
    """
    _outside_workflows("apply_schedules")
    records = []
    for i, entry in enumerate(schedules):
        for field in ("schedule_name", "workflow_fn", "schedule"):
            if field not in entry:
                raise DBOSException(f"Schedule entry {i} is missing required field '{field}'")
        check_cron(entry["schedule"])
        check_timezone(entry.get("cron_timezone"))
        name = _workflow_name(entry["workflow_fn"])
        _check_queue(entry.get("queue_name"))
        records.append(
            _record(
                schedule_name=entry["schedule_name"],
                workflow_name=name,
                schedule=entry["schedule"],
                context=entry.get("context"),
                automatic_backfill=entry.get("automatic_backfill", False),
                cron_timezone=entry.get("cron_timezone"),
                queue_name=entry.get("queue_name"),
            )
        )
    runtime().store.apply_schedules(records)
    refresh_schedules()


def list_schedules(
    *,
    status: str | Sequence[str] | None = None,
    workflow_name: str | Sequence[str] | None = None,
    schedule_name_prefix: str | Sequence[str] | None = None,
    application_name: str | None = None,
) -> list[WorkflowSchedule]:
    """The schedules matching every filter given (a list matches any), by name."""

    def many(value: str | Sequence[str] | None) -> list[str] | None:
        return None if value is None else [value] if isinstance(value, str) else list(value)

    rows = as_step(
        "DBOS.listSchedules",
        lambda: runtime().store.list_schedules(
            statuses=many(status),
            workflow_names=many(workflow_name),
            name_prefixes=many(schedule_name_prefix),
        ),
    )
    return [_public(r) for r in rows]


def get_schedule(name: str) -> WorkflowSchedule | None:
    """The schedule called ``name``, or None."""
    row = as_step("DBOS.getSchedule", lambda: runtime().store.get_schedule(name))
    return None if row is None else _public(row)


def delete_schedule(name: str) -> None:
    """Delete the schedule (its workflows already enqueued stay)."""
    as_step("DBOS.deleteSchedule", lambda: runtime().store.delete_schedule(name))
    refresh_schedules()


def pause_schedule(name: str) -> None:
    """Stop firing the schedule until ``resume_schedule``."""
    as_step("DBOS.pauseSchedule", lambda: runtime().store.set_schedule_status(name, "PAUSED"))
    refresh_schedules()


def resume_schedule(name: str) -> None:
    """Fire a paused schedule again (from now on; missed times only with backfill)."""
    as_step("DBOS.resumeSchedule", lambda: runtime().store.set_schedule_status(name, "ACTIVE"))
    refresh_schedules()


def _existing(name: str) -> ScheduleRecord:
    row = runtime().store.get_schedule(name)
    if row is None:
        raise DBOSException(f"Schedule '{name}' does not exist")
    return row


def backfill_schedule(
    schedule_name: str, start: datetime, end: datetime
) -> list[WorkflowHandle[Any]]:
    """Enqueue every time of the schedule strictly between ``start`` and ``end`` (naive
    datetimes are UTC), each under its firing's id: a time that already ran is not run
    again. Returns a handle per time."""
    _outside_workflows("backfill_schedule")
    schedule = _existing(schedule_name)
    end = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
    handles: list[WorkflowHandle[Any]] = []
    for scheduled in schedule_times(schedule.schedule, schedule.cron_timezone, start):
        if scheduled >= end:
            break
        workflow_id = f"sched-{schedule_name}-{iso(scheduled)}"
        handles.append(WorkflowHandle(fire_schedule(runtime(), schedule, scheduled, workflow_id)))
    return handles


def trigger_schedule(schedule_name: str) -> WorkflowHandle[Any]:
    """Run the schedule's workflow now, once, outside its cron times."""
    _outside_workflows("trigger_schedule")
    schedule = _existing(schedule_name)
    rt = runtime()
    now = datetime.fromtimestamp(rt.clock.now(), timezone.utc)
    workflow_id = f"sched-{schedule_name}-trigger-{iso(now)}"
    return WorkflowHandle(fire_schedule(rt, schedule, now, workflow_id))


async def _threaded(call: Callable[[], T]) -> T:
    return await asyncio.to_thread(call)


async def create_schedule_async(**options: Any) -> None:
    """``create_schedule`` without blocking the event loop (same keywords)."""
    await _threaded(lambda: create_schedule(**options))


async def apply_schedules_async(schedules: Sequence[ScheduleInput]) -> None:
    """``apply_schedules`` without blocking the event loop."""
    _outside_workflows("apply_schedules")
    await _threaded(lambda: apply_schedules(schedules))


async def list_schedules_async(**filters: Any) -> list[WorkflowSchedule]:
    """``list_schedules`` without blocking the event loop (same keywords)."""
    return await _threaded(lambda: list_schedules(**filters))


async def get_schedule_async(name: str) -> WorkflowSchedule | None:
    """``get_schedule`` without blocking the event loop."""
    return await _threaded(lambda: get_schedule(name))


async def delete_schedule_async(name: str) -> None:
    """``delete_schedule`` without blocking the event loop."""
    await _threaded(lambda: delete_schedule(name))


async def pause_schedule_async(name: str) -> None:
    """``pause_schedule`` without blocking the event loop."""
    await _threaded(lambda: pause_schedule(name))


async def resume_schedule_async(name: str) -> None:
    """``resume_schedule`` without blocking the event loop."""
    await _threaded(lambda: resume_schedule(name))


async def backfill_schedule_async(
    schedule_name: str, start: datetime, end: datetime
) -> list[WorkflowHandle[Any]]:
    """``backfill_schedule`` without blocking the event loop."""
    _outside_workflows("backfill_schedule")
    return await _threaded(lambda: backfill_schedule(schedule_name, start, end))


async def trigger_schedule_async(schedule_name: str) -> WorkflowHandle[Any]:
    """``trigger_schedule`` without blocking the event loop."""
    _outside_workflows("trigger_schedule")
    return await _threaded(lambda: trigger_schedule(schedule_name))
