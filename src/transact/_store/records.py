"""Plain records the stores read and write (serialized values are text)."""

from __future__ import annotations

import attrs

from transact._core.checkpoint import Checkpoint

__all__ = ["Checkpoint", "OutgoingMessage", "StreamRead", "WorkflowQuery", "WorkflowRecord"]


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


@attrs.frozen
class WorkflowQuery:
    """Filters of ``list_workflows``; every filter that is None (or False) is not applied.

    Tuple filters match any of their values (SQL ``IN``). Time bounds are inclusive
    epoch milliseconds: ``created_*`` on ``created_at``, ``completed_*`` on
    ``completed_at``, ``dequeued_*`` on ``started_at_epoch_ms``. ``queues_only`` keeps
    rows with a ``queue_name`` and, when ``statuses`` is None, only ENQUEUED, DELAYED and
    PENDING ones. Results are ordered by ``created_at`` (then ``workflow_id``), ascending
    unless ``sort_desc``; then ``offset`` rows are skipped and at most ``limit`` returned.
    """

    workflow_ids: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    names: tuple[str, ...] | None = None
    application_versions: tuple[str, ...] | None = None
    executor_ids: tuple[str, ...] | None = None
    queue_names: tuple[str, ...] | None = None
    parent_workflow_ids: tuple[str, ...] | None = None
    forked_from: tuple[str, ...] | None = None
    users: tuple[str, ...] | None = None
    workflow_id_prefixes: tuple[str, ...] | None = None
    created_after: int | None = None
    created_before: int | None = None
    completed_after: int | None = None
    completed_before: int | None = None
    dequeued_after: int | None = None
    dequeued_before: int | None = None
    queues_only: bool = False
    was_forked_from: bool | None = None
    has_parent: bool | None = None
    load_input: bool = True
    load_output: bool = True
    limit: int | None = None
    offset: int | None = None
    sort_desc: bool = False


@attrs.frozen
class StreamRead:
    """The value at one offset of a stream (None if not written yet) and the owner's status
    (None if the owning workflow does not exist)."""

    value: str | None
    workflow_status: str | None


@attrs.frozen
class OutgoingMessage:
    """One message of ``Store.send_messages``: the arguments of one ``send_message``.

    ``message`` is serialized text; a ``message_id`` makes the send idempotent.
    """

    destination_id: str
    topic: str | None
    message: str
    message_id: str | None = None
