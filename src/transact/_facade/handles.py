"""Workflow handles: a workflow's id, its status and its (awaited) result."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from transact._core.effects import GetResult, GetStatus
from transact._facade.launched import runtime
from transact._facade.status import WorkflowStatus, to_status
from transact._runtime.async_driver import perform_async
from transact._runtime.interpreter import perform
from transact._runtime.state import current_workflow
from transact.errors import DBOSNonExistentWorkflowError

R = TypeVar("R", covariant=True)


class WorkflowHandle(Generic[R]):
    """A handle on one workflow, returned by ``start_workflow``, ``retrieve_workflow``, ...

    Inside a workflow, ``get_result`` and ``get_status`` are recorded like steps.
    """

    def __init__(self, workflow_id: str, future: Future[Any] | None = None) -> None:
        self.workflow_id = workflow_id
        self._future = future

    def __repr__(self) -> str:
        return f"WorkflowHandle({self.workflow_id!r})"

    def get_workflow_id(self) -> str:
        """The workflow's id."""
        return self.workflow_id

    def get_result(self, *, polling_interval_sec: float = 1.0) -> R:
        """Wait for the workflow to finish; return its result or raise its error.

        Raises ``DBOSAwaitedWorkflowCancelledError`` if it was cancelled and
        ``DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded`` if it was dead-lettered.
        """
        parent = current_workflow()
        if parent is not None:
            result: R = perform(parent, GetResult(self.workflow_id))
            return result
        rt = runtime()
        future = self._future or rt.future(self.workflow_id)
        value: R = rt.result(self.workflow_id, future, polling_interval_sec)
        return value

    def get_status(self) -> WorkflowStatus:
        """The workflow's current status; ``DBOSNonExistentWorkflowError`` if it is gone."""
        parent = current_workflow()
        if parent is not None:
            status: WorkflowStatus = perform(parent, GetStatus(self.workflow_id, must_exist=True))
            return status
        return self._read_status()

    def _read_status(self) -> WorkflowStatus:
        rt = runtime()
        row = rt.store.get_workflow(self.workflow_id)
        if row is None:
            raise DBOSNonExistentWorkflowError("target", self.workflow_id)
        return to_status(row, rt.serializer)


class WorkflowHandleAsync(Generic[R]):
    """The handle ``start_workflow_async`` returns: ``await`` its result and status."""

    def __init__(self, handle: WorkflowHandle[R]) -> None:
        self._handle = handle
        self.workflow_id = handle.workflow_id

    def __repr__(self) -> str:
        return f"WorkflowHandleAsync({self.workflow_id!r})"

    def get_workflow_id(self) -> str:
        """The workflow's id."""
        return self.workflow_id

    async def get_result(self, *, polling_interval_sec: float = 1.0) -> R:
        """Wait (without blocking the loop) for the result, as ``WorkflowHandle.get_result``."""
        parent = current_workflow()
        if parent is not None:
            result: R = await perform_async(parent, GetResult(self.workflow_id))
            return result
        return await asyncio.to_thread(
            self._handle.get_result, polling_interval_sec=polling_interval_sec
        )

    async def get_status(self) -> WorkflowStatus:
        """The workflow's current status, as ``WorkflowHandle.get_status``."""
        return await asyncio.to_thread(self._handle.get_status)
