"""A finished workflow's row as the outcome its awaiters see: a value or an error."""

from __future__ import annotations

from typing import Any

from transact._core.status import WorkflowStatusString as S
from transact._serialization import Serializer, deserialize_error, serialize_error
from transact._store.records import WorkflowRecord
from transact.errors import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded,
    DBOSException,
)


def outcome_text(serializer: Serializer, row: WorkflowRecord) -> tuple[str | None, str | None]:
    """A terminal row's outcome as (output, error) text, as a get-result records it."""
    if row.status == S.SUCCESS.value:
        return row.output, None
    if row.status == S.ERROR.value:
        return None, row.error
    return None, serialize_error(serializer, awaited_error(row))


def outcome_of(serializer: Serializer, row: WorkflowRecord) -> Any:
    """Return a terminal row's output or raise its error."""
    if row.status == S.SUCCESS.value:
        return serializer.deserialize(row.output) if row.output is not None else None
    if row.status == S.ERROR.value:
        raise deserialize_error(serializer, row.error or "")
    raise awaited_error(row)


def awaited_error(row: WorkflowRecord) -> DBOSException:
    """What awaiting a CANCELLED or dead-lettered workflow raises."""
    if row.status == S.CANCELLED.value:
        return DBOSAwaitedWorkflowCancelledError(row.workflow_id)
    return DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded(row.workflow_id)
