"""What a ``DBOSClient`` does beyond reading: enqueue by name, manage many workflows at
once, move delays, attributes, application versions and schedules. Each function acts
on a client ``Connection`` through the store, as the ``DBOS`` class's counterparts act
through a launched runtime; none runs a workflow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from transact._client.connection import Connection
from transact._core.queue_policy import QueueEntry, validate_entry
from transact._core.status import WorkflowStatusString as S
from transact._facade.api_enqueue import (
    EnqueueOptions,
    check_delay,
    check_enqueue_options,
    due_time,
)
from transact._facade.api_schedules import (
    ClientScheduleInput,
    WorkflowSchedule,
    check_cron,
    check_timezone,
)
from transact._facade.context import attributes_text
from transact._facade.types import VersionInfo
from transact._runtime import management, rows
from transact._runtime.announcer import queue_key
from transact._runtime.clock import now_ms
from transact._runtime.enqueue_rows import enqueued_record
from transact._runtime.options import StartOptions
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import WorkflowSpec
from transact._serialization import format_name, serialize_value
from transact._store.records import ScheduleRecord, VersionRecord, WorkflowQuery, WorkflowRecord
from transact.errors import (
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSQueueDeduplicatedError,
)


def _never_called(*args: Any, **kwargs: Any) -> Any:
    raise DBOSException("a client never runs workflows")


def enqueued_row(
    connection: Connection,
    options: EnqueueOptions,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    application_name: str | None,
) -> tuple[WorkflowRecord, QueueEntry, StartOptions]:
    """The ENQUEUED (or DELAYED) row ``options`` asks for, validated as DBOS validates
    ``EnqueueOptions``, with its queue entry and start options; nothing is written."""
    check_enqueue_options(options)
    priority, workflow_id = options.get("priority"), options.get("workflow_id")
    entry = QueueEntry(
        queue_name=options["queue_name"],
        deduplication_id=options.get("deduplication_id"),
        priority=priority or 0,
        partition_key=options.get("queue_partition_key"),
        app_version=options.get("app_version"),
        delay_seconds=options.get("delay_seconds"),
    )
    if entry.deduplication_id is not None and entry.partition_key is not None:
        raise DBOSException("Deduplication is not supported for partitioned queues")
    entry = validate_entry(entry, partitioned=None)
    spec = WorkflowSpec(
        name=options["workflow_name"],
        func=_never_called,
        class_name=options.get("class_name"),
        config_name=options.get("instance_name"),
        serialization_type=format_name(options.get("serialization_type")),
    )
    timeout = options.get("workflow_timeout")
    roles = options.get("authenticated_roles")
    attributes = options.get("attributes")
    start = StartOptions(
        workflow_id=workflow_id,
        timeout_seconds=timeout,
        inherit_deadline=False,
        authenticated_user=options.get("authenticated_user"),
        authenticated_roles=tuple(roles) if roles is not None else None,
        reuse_policy=options.get("workflow_id_reuse_policy"),
        attributes=attributes_text(attributes) if attributes is not None else None,
    )
    new_id = workflow_id or str(uuid.uuid4())
    record = rows.new_record(connection.env, spec, new_id, args, kwargs, None, start)
    record = attrs.evolve(
        enqueued_record(record, entry, timed=timeout is not None),
        application_version=entry.app_version,
        executor_id=None,
        application_name=options.get("application_name", application_name),
    )
    return record, entry, start


def enqueue(
    connection: Connection,
    options: EnqueueOptions,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    application_name: str | None,
) -> str:
    """Write the ENQUEUED row of workflow ``options["workflow_name"]`` (DBOS's
    ``DBOSClient.enqueue``); return its id. Without ``app_version`` the row has none, so
    an executor of the latest version runs it."""
    record, entry, start = enqueued_row(
        connection, options, args, kwargs, application_name=application_name
    )
    new_id = record.workflow_id
    store = connection.store
    try:
        # Announced by the insert itself: one statement, not an insert and a publish.
        stored, created = rows.insert(
            store, record, fresh_id=not options.get("workflow_id"), announce=True
        )
    except DBOSQueueDeduplicatedError:
        holder = _dedup_holder(connection, entry.queue_name, entry.deduplication_id or "")
        if options.get("duplication_policy") != "return-existing" or holder is None:
            raise
        return holder
    rows.check_reuse(stored, created, start.reuse_policy)
    return new_id


def _dedup_holder(connection: Connection, queue_name: str, deduplication_id: str) -> str | None:
    live = (S.ENQUEUED.value, S.DELAYED.value, S.PENDING.value)
    query = WorkflowQuery(
        queue_names=(queue_name,), statuses=live, load_input=False, load_output=False
    )
    return next(
        (
            r.workflow_id
            for r in connection.store.list_workflows(query)
            if r.deduplication_id == deduplication_id
        ),
        None,
    )


def cancel_many(connection: Connection, workflow_ids: Sequence[str]) -> None:
    """Cancel every workflow named (unknown ids are skipped)."""
    connection.store.cancel_workflows(list(workflow_ids), now_ms(connection.env.clock))


def delete_many(connection: Connection, workflow_ids: Sequence[str], delete_children: bool) -> None:
    """Delete every workflow named (and, with ``delete_children``, its descendants)."""
    for workflow_id in workflow_ids:
        management.delete(connection.remote, workflow_id, delete_children=delete_children)


def set_delay(
    connection: Connection,
    workflow_id: str,
    delay_seconds: float | None,
    delay_until_epoch_ms: int | None,
) -> None:
    """Move a DELAYED workflow's due time (DBOS's checks and messages)."""
    check_delay(delay_seconds, delay_until_epoch_ms)
    now = now_ms(connection.env.clock)
    until = due_time(now, delay_seconds, delay_until_epoch_ms)
    store = connection.store
    if store.update_delayed(workflow_id, delay_until_epoch_ms=until, inputs=None, now_ms=now):
        row = store.get_workflow(workflow_id, load_input=False, load_output=False)
        if row is not None and row.queue_name is not None:
            store.publish([queue_key(row.queue_name)])


def update_attributes(
    connection: Connection, workflow_id: str, attributes: dict[str, Any] | None, merge: bool
) -> None:
    """Replace (or with ``merge``, extend) the workflow's attributes."""
    if merge and attributes is None:
        raise DBOSException("Cannot merge None into workflow attributes")
    text = None if attributes is None else attributes_text(attributes)
    connection.store.update_workflow_attributes(
        workflow_id, text, merge=merge, now_ms=now_ms(connection.env.clock)
    )


def rewind(connection: Connection, workflow_id: str, start_step: int, queue_name: str) -> None:
    """Run a finished workflow again from ``start_step`` (on ``queue_name``)."""
    management.validate_start_step(start_step)
    store = connection.store
    if store.get_workflow(workflow_id, load_input=False, load_output=False) is None:
        raise DBOSNonExistentWorkflowError("target", workflow_id)
    store.rewind_workflow(workflow_id, start_step, queue_name, now_ms(connection.env.clock))
    store.publish([queue_key(queue_name)])


def versions(connection: Connection, application_name: str | None) -> list[VersionInfo]:
    """Every recorded application version, the latest first."""
    return [_version(v) for v in connection.store.list_application_versions(application_name)]


def _version(record: VersionRecord) -> VersionInfo:
    return VersionInfo(
        version_id=record.version_id,
        version_name=record.version_name,
        version_timestamp=record.version_timestamp,
        created_at=record.created_at,
        application_name=record.application_name,
    )


def set_latest(connection: Connection, version_name: str, application_name: str | None) -> None:
    """Make ``version_name`` the latest application version."""
    connection.store.set_latest_application_version(
        version_name, application_name, now_ms(connection.env.clock)
    )


def schedule(connection: Connection, record: ScheduleRecord) -> WorkflowSchedule:
    """A stored schedule as DBOS's ``WorkflowSchedule``."""
    return WorkflowSchedule(
        schedule_id=record.schedule_id,
        schedule_name=record.schedule_name,
        workflow_name=record.workflow_name,
        workflow_class_name=record.workflow_class_name,
        schedule=record.schedule,
        status=record.status,
        context=connection.env.serializer.deserialize(record.context),
        last_fired_at=record.last_fired_at,
        automatic_backfill=record.automatic_backfill,
        cron_timezone=record.cron_timezone,
        queue_name=record.queue_name,
        application_name=None,
    )


def schedules(
    connection: Connection,
    status: str | Sequence[str] | None,
    workflow_name: str | Sequence[str] | None,
    schedule_name_prefix: str | Sequence[str] | None,
) -> list[WorkflowSchedule]:
    """The stored schedules matching every filter given (a list matches any)."""

    def many(value: str | Sequence[str] | None) -> list[str] | None:
        return None if value is None else [value] if isinstance(value, str) else list(value)

    rows_found = connection.store.list_schedules(
        statuses=many(status),
        workflow_names=many(workflow_name),
        name_prefixes=many(schedule_name_prefix),
    )
    return [schedule(connection, r) for r in rows_found]


def schedule_row(connection: Connection, spec: ClientScheduleInput) -> ScheduleRecord:
    """The stored row of a schedule given by workflow name (DBOS's cron and time-zone
    checks; the context serialized as the application's)."""
    check_cron(spec["schedule"])
    check_timezone(spec.get("cron_timezone"))
    return ScheduleRecord(
        schedule_id=str(uuid.uuid4()),
        schedule_name=spec["schedule_name"],
        workflow_name=spec["workflow_name"],
        workflow_class_name=spec.get("workflow_class_name"),
        schedule=spec["schedule"],
        context=serialize_value(
            connection.env.serializer, spec.get("context"), "the schedule's context"
        ),
        automatic_backfill=bool(spec.get("automatic_backfill", False)),
        cron_timezone=spec.get("cron_timezone"),
        queue_name=spec.get("queue_name"),
    )


def fire(
    connection: Connection, schedule_record: ScheduleRecord, scheduled: datetime, workflow_id: str
) -> str:
    """Enqueue one firing of the schedule for ``scheduled`` under ``workflow_id`` (the ids
    the schedulers use, so a time already fired is attached to, not run twice)."""
    options: EnqueueOptions = {
        "workflow_name": schedule_record.workflow_name,
        "queue_name": schedule_record.queue_name or INTERNAL_QUEUE,
        "workflow_id": workflow_id,
    }
    if schedule_record.workflow_class_name is not None:
        options["class_name"] = schedule_record.workflow_class_name
    context = connection.env.serializer.deserialize(schedule_record.context)
    record, _, _ = enqueued_row(
        connection, options, (scheduled, context), {}, application_name=None
    )
    record = attrs.evolve(record, schedule_name=schedule_record.schedule_name)
    rows.insert(connection.store, record, announce=True)
    return workflow_id


def existing_schedule(connection: Connection, name: str) -> ScheduleRecord:
    """The stored schedule ``name``; DBOS's error if there is none."""
    found = connection.store.get_schedule(name)
    if found is None:
        raise DBOSException(f"Schedule '{name}' does not exist")
    return found
