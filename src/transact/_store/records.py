"""Plain records the stores read and write (serialized values are text)."""

from __future__ import annotations

import attrs

from transact._core.checkpoint import Checkpoint
from transact._core.query import WorkflowQuery as WorkflowQuery

__all__ = [
    "Checkpoint",
    "OutgoingMessage",
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
