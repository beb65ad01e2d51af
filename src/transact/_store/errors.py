"""Errors every store raises the same way (the shell maps them to user-facing errors)."""

from __future__ import annotations

from transact.errors import DBOSException, DBOSWorkflowConflictIDError


class CheckpointConflict(DBOSWorkflowConflictIDError):
    """A checkpoint already exists at (workflow_id, function_id): a duplicate execution."""

    def __init__(self, workflow_id: str, function_id: int = 0) -> None:
        super().__init__(workflow_id)
        self.function_id = function_id
        self._args = (workflow_id, function_id)


class WorkflowNotPending(DBOSException):
    """A write that requires a PENDING workflow found it in ``status`` (None: no row)."""

    def __init__(self, workflow_id: str, status: str | None) -> None:
        super().__init__(f"workflow {workflow_id} is not PENDING (status: {status})")
        self.workflow_id = workflow_id
        self.status = status
        self._args = (workflow_id, status)
