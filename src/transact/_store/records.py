"""Plain records the stores read and write (serialized values are text)."""

from __future__ import annotations

import attrs

from transact._core.checkpoint import Checkpoint
from transact._core.query import WorkflowQuery as WorkflowQuery

__all__ = [
    "Checkpoint",
    "OutgoingMessage",
    "QueueRecord",
    "Reowned",
    "ScheduleRecord",
    "StreamRead",
    "VersionRecord",
    "WorkflowQuery",
    "WorkflowRecord",
]


@attrs.frozen
class WorkflowRecord:
    """One row of workflow status. Times are epoch milliseconds.

    ``inputs``/``output``/``error`` are serialized text; ``authenticated_roles`` is a JSON
    list. A record returned with ``load_input=False`` has ``inputs`` None, and with
    ``load_output=False`` has ``output`` and ``error`` None.
    """

    workflow_id: str
    status: str
    name: str
    inputs: str | None = None
    output: str | None = None
    error: str | None = None
    serialization: str | None = None
    class_name: str | None = None
    config_name: str | None = None
    executor_id: str | None = None
    application_version: str | None = None
    application_id: str | None = None
    authenticated_user: str | None = None
    assumed_role: str | None = None
    authenticated_roles: str | None = None
    created_at: int = 0
    updated_at: int = 0
    recovery_attempts: int = 0
    queue_name: str | None = None
    queue_partition_key: str | None = None
    deduplication_id: str | None = None
    priority: int = 0
    workflow_timeout_ms: int | None = None
    workflow_deadline_epoch_ms: int | None = None
    started_at_epoch_ms: int | None = None
    completed_at: int | None = None
    delay_until_epoch_ms: int | None = None
    parent_workflow_id: str | None = None
    forked_from: str | None = None
    was_forked_from: bool = False
    attributes: str | None = None  # JSON object text (``SetWorkflowAttributes``)
    application_name: str | None = None
    otel_context: str | None = None  # W3C trace context (JSON) its spans continue
    schedule_name: str | None = None
    is_debounced: bool = False
    debounce_deadline_epoch_ms: int | None = None


@attrs.frozen
class StreamRead:
    """The value at one offset of a stream (None if not written yet) and the owner's status
    (None if the owning workflow does not exist); ``following`` holds the values written
    at the next offsets, in order, when the read asked for more than one."""

    value: str | None
    workflow_status: str | None
    following: tuple[str, ...] = ()


@attrs.frozen
class OutgoingMessage:
    """One message of ``Store.send_messages``: the arguments of one ``send_message``.

    ``message`` is serialized text; a ``message_id`` makes the send idempotent.
    """

    destination_id: str
    topic: str | None
    message: str
    message_id: str | None = None


@attrs.frozen
class VersionRecord:
    """One row of ``application_versions`` (times in epoch milliseconds)."""

    version_id: str
    version_name: str
    version_timestamp: int
    created_at: int
    application_name: str | None = None


@attrs.frozen
class Reowned:
    """How many rows ``rename_application`` gave the application's new name."""

    workflows: int
    versions: int


@attrs.frozen
class QueueRecord:
    """One row of the ``queues`` table: a queue kept in the database (DBOS 3's
    ``register_queue``). Limits left None do not apply; rate limits are a count per
    period in seconds. Times are epoch milliseconds."""

    name: str
    concurrency: int | None = None
    worker_concurrency: int | None = None
    rate_limit_max: int | None = None
    rate_limit_period_sec: float | None = None
    priority_enabled: bool = False
    partition_queue: bool = False
    polling_interval_sec: float = 1.0
    created_at: int = 0
    updated_at: int = 0
    partition_concurrency: int | None = None
    partition_worker_concurrency: int | None = None
    partition_rate_limit_max: int | None = None
    partition_rate_limit_period_sec: float | None = None


@attrs.frozen
class ScheduleRecord:
    """One row of the ``workflow_schedules`` table: a cron schedule created at run time.

    ``context`` is serialized text; ``last_fired_at`` an ISO-8601 time (or None);
    ``status`` is ``ACTIVE`` or ``PAUSED``.
    """

    schedule_id: str
    schedule_name: str
    workflow_name: str
    schedule: str
    context: str
    workflow_class_name: str | None = None
    status: str = "ACTIVE"
    last_fired_at: str | None = None
    automatic_backfill: bool = False
    cron_timezone: str | None = None
    queue_name: str | None = None
