"""Operating on workflows from a process that runs none (the dashboard, the ``transact``
command, ``DBOSClient``): cancel, resume and fork through the store, leaving every
workflow to the application's executors."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import attrs

from transact._core.checkpoint import Checkpoint
from transact._runtime import management, rows
from transact._runtime.clock import Clock, SystemClock, now_ms
from transact._runtime.options import StartOptions
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import WorkflowSpec
from transact._runtime.services import Services
from transact._runtime.state import WorkflowState
from transact._runtime.waiters import Waiters, status_key
from transact._store.protocol import Store
from transact._store.records import WorkflowRecord
from transact.errors import DBOSNonExistentWorkflowError


@attrs.define
class Remote:
    """``Services`` for a process that runs no workflows (a standalone dashboard, the command): rows
    it writes are left ENQUEUED for the application's executors."""

    store: Store
    clock: Clock = attrs.field(factory=SystemClock)
    waiters: Waiters = attrs.field(factory=Waiters)
    executor_id: str = "dashboard"
    application_version: str = ""

    def new_record(
        self,
        spec: WorkflowSpec,
        workflow_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        parent: WorkflowState | None = None,
        options: StartOptions = StartOptions(),
    ) -> WorkflowRecord:
        raise NotImplementedError("the dashboard starts no workflows")

    def insert(
        self, record: WorkflowRecord, *, fresh_id: bool = False
    ) -> tuple[WorkflowRecord, bool]:
        return rows.insert(self.store, record, fresh_id=fresh_id)

    def dispatch(
        self, record: WorkflowRecord, checkpoints: list[Checkpoint] | None = None
    ) -> Future[Any] | None:
        return None  # never runs a workflow here

    def future(self, workflow_id: str) -> Future[Any] | None:
        return None

    def interrupt(self, workflow_id: str) -> None:
        return None


def cancel(services: Services, workflow_id: str) -> None:
    """Cancel the workflow: CANCELLED now; its executor stops it at its next operation.
    ``DBOSNonExistentWorkflowError`` for an unknown id."""
    store = services.store
    if store.get_workflow(workflow_id, load_input=False, load_output=False) is None:
        raise DBOSNonExistentWorkflowError("target", workflow_id)
    for cancelled in store.cancel_workflows([workflow_id], now_ms(services.clock)):
        services.interrupt(cancelled)
        services.waiters.notify(status_key(cancelled))


def resume(services: Services, workflow_id: str) -> None:
    """Put the workflow back in line on the internal queue: an executor of its version
    runs it from its log. ``DBOSNonExistentWorkflowError`` for an unknown id."""
    now = now_ms(services.clock)
    if services.store.resume_workflow(workflow_id, INTERNAL_QUEUE, now) is None:
        raise DBOSNonExistentWorkflowError("target", workflow_id)


def fork(
    services: Services,
    workflow_id: str,
    start_step: int,
    *,
    new_id: str | None = None,
    application_version: str | None = None,
) -> str:
    """Fork the workflow from ``start_step`` for ``application_version`` (default: the
    original's, whose executors run it); return the fork's id."""
    original = services.store.get_workflow(workflow_id, load_input=False, load_output=False)
    if original is None:
        raise DBOSNonExistentWorkflowError("target", workflow_id)
    fork_id, _ = management.fork(
        services,
        workflow_id,
        start_step,
        new_id=new_id,
        application_version=application_version or original.application_version,
        timeout_seconds=None,
    )
    return fork_id
