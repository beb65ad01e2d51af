"""The handles a ``DBOSClient`` returns: a workflow's id, status and awaited result, read
from the system database (the workflow runs in some executor, never here)."""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

from transact._client.connection import Connection
from transact._runtime.status import WorkflowStatus, to_status
from transact.errors import DBOSNonExistentWorkflowError

R = TypeVar("R", covariant=True)


class WorkflowHandleClientPolling(Generic[R]):
    """A handle on a workflow seen from a client: ``get_result`` waits for its outcome
    (woken by the database's notifications on Postgres, polling on SQLite)."""

    def __init__(self, workflow_id: str, connection: Connection) -> None:
        self.workflow_id = workflow_id
        self._connection = connection

    def __repr__(self) -> str:
        return f"WorkflowHandleClientPolling({self.workflow_id!r})"

    def get_workflow_id(self) -> str:
        """The workflow's id."""
        return self.workflow_id

    def get_result(self, *, polling_interval_sec: float = 1.0) -> R:
        """Wait for the workflow to finish; return its result or raise its error.

        Raises ``DBOSAwaitedWorkflowCancelledError`` if it was cancelled and
        ``DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded`` if it was dead-lettered.
        """
        self._connection.listen()
        poll = min(polling_interval_sec, self._connection.env.poll_seconds)
        value: R = self._connection.awaiting.result(self.workflow_id, None, poll)
        return value

    def get_status(self) -> WorkflowStatus:
        """The workflow's current status; ``DBOSNonExistentWorkflowError`` if it is gone."""
        return read_status(self._connection, self.workflow_id)


class WorkflowHandleClientAsyncPolling(Generic[R]):
    """``WorkflowHandleClientPolling`` for code on an event loop."""

    def __init__(self, workflow_id: str, connection: Connection) -> None:
        self.workflow_id = workflow_id
        self._handle: WorkflowHandleClientPolling[R] = WorkflowHandleClientPolling(
            workflow_id, connection
        )

    def __repr__(self) -> str:
        return f"WorkflowHandleClientAsyncPolling({self.workflow_id!r})"

    def get_workflow_id(self) -> str:
        """The workflow's id."""
        return self.workflow_id

    async def get_result(self, *, polling_interval_sec: float = 1.0) -> R:
        """Wait for the workflow's outcome without blocking the loop."""
        return await asyncio.to_thread(
            lambda: self._handle.get_result(polling_interval_sec=polling_interval_sec)
        )

    async def get_status(self) -> WorkflowStatus:
        """The workflow's current status."""
        return await asyncio.to_thread(self._handle.get_status)


def read_status(connection: Connection, workflow_id: str) -> WorkflowStatus:
    """The workflow's status; ``DBOSNonExistentWorkflowError`` if there is none."""
    row = connection.store.get_workflow(workflow_id)
    if row is None:
        raise DBOSNonExistentWorkflowError("Workflow", workflow_id)
    return to_status(row, connection.env.serializer)


def any_handle(workflow_id: str, connection: Connection) -> WorkflowHandleClientPolling[Any]:
    """An untyped handle (the client cannot know the workflow's result type)."""
    return WorkflowHandleClientPolling(workflow_id, connection)
