"""``WorkflowStatus`` and ``StepInfo``: what introspection returns."""

from __future__ import annotations

import json
import logging
from typing import Any, TypedDict

from transact._core.checkpoint import Checkpoint
from transact._serialization import Serializer, deserialize_error
from transact._store.records import WorkflowRecord

logger = logging.getLogger("dbos")


class StepInfo(TypedDict):
    """One recorded operation of a workflow."""

    function_id: int
    function_name: str
    output: Any | None
    error: Exception | None
    child_workflow_id: str | None
    started_at_epoch_ms: int | None
    completed_at_epoch_ms: int | None


class WorkflowStatus:
    """The status of one workflow, with its inputs and outcome deserialized.

    Times are epoch milliseconds. ``input`` is ``{"args": tuple, "kwargs": dict}``.
    """

    workflow_id: str
    status: str
    name: str
    class_name: str | None
    config_name: str | None
    authenticated_user: str | None
    assumed_role: str | None
    authenticated_roles: list[str] | None
    input: dict[str, Any] | None
    output: Any | None
    error: Exception | None
    created_at: int | None
    updated_at: int | None
    queue_name: str | None
    executor_id: str | None
    app_version: str | None
    app_id: str | None
    recovery_attempts: int | None
    workflow_timeout_ms: int | None
    workflow_deadline_epoch_ms: int | None
    deduplication_id: str | None
    priority: int | None
    queue_partition_key: str | None
    forked_from: str | None
    was_forked_from: bool
    parent_workflow_id: str | None
    dequeued_at: int | None
    delay_until_epoch_ms: int | None
    completed_at: int | None
    attributes: dict[str, Any] | None
    application_name: str | None
    schedule_name: str | None

    def __repr__(self) -> str:
        return (
            f"WorkflowStatus(workflow_id={self.workflow_id!r}, "
            f"status={self.status!r}, name={self.name!r})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WorkflowStatus) and vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]


def _load(serializer: Serializer, text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return serializer.deserialize(text)
    except Exception as exc:  # keep listing usable even if one value cannot be read
        logger.warning(  # DBOS's line: what is "input of <id>" or "output of <id>"
            "Warning: %s object could not be deserialized for workflow %s, returning as string: %s",
            *what.split(" of ", 1),
            exc,
        )
        return text


def _inputs(value: Any) -> Any:
    """Portable inputs (``positionalArgs``/``namedArgs``) shown as ``{"args", "kwargs"}``."""
    if isinstance(value, dict) and ("positionalArgs" in value or "namedArgs" in value):
        return {
            "args": tuple(value.get("positionalArgs") or ()),
            "kwargs": dict(value.get("namedArgs") or {}),
        }
    return value


def _load_error(serializer: Serializer, text: str | None) -> Exception | None:
    if text is None:
        return None
    try:
        error = deserialize_error(serializer, text)
    except Exception:
        return Exception(text)
    return error if isinstance(error, Exception) else Exception(str(error))


def to_status(record: WorkflowRecord, serializer: Serializer) -> WorkflowStatus:
    """Build the public status from a stored row."""
    s = WorkflowStatus()
    s.workflow_id = record.workflow_id
    s.status = record.status
    s.name = record.name
    s.class_name = record.class_name
    s.config_name = record.config_name
    s.authenticated_user = record.authenticated_user
    s.assumed_role = record.assumed_role
    s.authenticated_roles = (
        json.loads(record.authenticated_roles) if record.authenticated_roles else None
    )
    s.input = _inputs(_load(serializer, record.inputs, f"input of {record.workflow_id}"))
    s.output = _load(serializer, record.output, f"output of {record.workflow_id}")
    s.error = _load_error(serializer, record.error)
    s.created_at = record.created_at
    s.updated_at = record.updated_at
    s.queue_name = record.queue_name
    s.executor_id = record.executor_id
    s.app_version = record.application_version
    s.app_id = record.application_id
    s.recovery_attempts = record.recovery_attempts
    s.workflow_timeout_ms = record.workflow_timeout_ms
    s.workflow_deadline_epoch_ms = record.workflow_deadline_epoch_ms
    s.deduplication_id = record.deduplication_id
    s.priority = record.priority
    s.queue_partition_key = record.queue_partition_key
    s.forked_from = record.forked_from
    s.was_forked_from = record.was_forked_from
    s.parent_workflow_id = record.parent_workflow_id
    s.dequeued_at = record.started_at_epoch_ms
    s.delay_until_epoch_ms = record.delay_until_epoch_ms
    s.completed_at = record.completed_at
    s.attributes = json.loads(record.attributes) if record.attributes is not None else None
    s.application_name = record.application_name
    s.schedule_name = record.schedule_name
    return s


def to_step_info(
    checkpoint: Checkpoint, serializer: Serializer, *, load_output: bool = True
) -> StepInfo:
    """Build the public step record from a checkpoint."""
    return StepInfo(
        function_id=checkpoint.function_id,
        function_name=checkpoint.function_name,
        output=_load(serializer, checkpoint.output, f"output of <step {checkpoint.function_id}>")
        if load_output
        else None,
        error=_load_error(serializer, checkpoint.error) if load_output else None,
        child_workflow_id=checkpoint.child_workflow_id,
        started_at_epoch_ms=checkpoint.started_at_epoch_ms,
        completed_at_epoch_ms=checkpoint.completed_at_epoch_ms,
    )
