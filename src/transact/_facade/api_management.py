"""Operating on workflows: cancel, resume, delete, fork (on the ``DBOS`` class)."""

from __future__ import annotations

from typing import Any

from transact._facade.access import runtime
from transact._facade.calls import recorded
from transact._facade.handles import WorkflowHandle


class ManagementAPI:
    """The management half of the ``DBOS`` class (mixed into it)."""

    @classmethod
    def cancel_workflow(cls, workflow_id: str) -> None:
        """Cancel a workflow: it becomes CANCELLED now and stops at its next operation.

        A step already running finishes, but nothing after it runs. Cancelling a
        finished or unknown workflow does nothing.
        """
        recorded("DBOS.cancelWorkflow", lambda: runtime().cancel([workflow_id]))

    @classmethod
    def resume_workflow(cls, workflow_id: str) -> WorkflowHandle[Any]:
        """Run a cancelled (or dead-lettered) workflow again from its log.

        Completed steps are not re-run. Raises ``DBOSNonExistentWorkflowError`` for an
        unknown id; resuming a finished workflow returns a handle and does nothing.
        """
        recorded("DBOS.resumeWorkflow", lambda: runtime().resume(workflow_id))
        return WorkflowHandle(workflow_id)
