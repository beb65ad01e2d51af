"""What the queue runner, the announcer, the scheduler and the management verbs ask of
the runtime: a narrow protocol, so none of them imports the ``Runtime`` (which builds
and owns them)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Protocol

from transact._core.checkpoint import Checkpoint
from transact._runtime.clock import Clock
from transact._runtime.options import StartOptions
from transact._runtime.registry import WorkflowSpec
from transact._runtime.state import WorkflowState
from transact._runtime.waiters import Waiters
from transact._store.protocol import Store
from transact._store.records import WorkflowRecord


class Services(Protocol):
    """The runtime as its background parts and operator verbs see it."""

    @property
    def store(self) -> Store:
        """The system database."""
        ...

    @property
    def clock(self) -> Clock:
        """The runtime's clock."""
        ...

    @property
    def waiters(self) -> Waiters:
        """Wakes the threads waiting on a key."""
        ...

    @property
    def executor_id(self) -> str:
        """This process's DBOS executor id."""
        ...

    @property
    def application_version(self) -> str:
        """This process's application version."""
        ...

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
        """The PENDING row of a direct start."""
        ...

    def insert(
        self, record: WorkflowRecord, *, fresh_id: bool = False
    ) -> tuple[WorkflowRecord, bool]:
        """Insert the row or attach to an existing one of the same workflow function
        (``fresh_id``: the id was just generated, see ``Store.insert_workflow``)."""
        ...

    def dispatch(
        self, record: WorkflowRecord, checkpoints: list[Checkpoint] | None = None
    ) -> Future[Any] | None:
        """Run a persisted PENDING workflow from its log; None if it could not be run."""
        ...

    def future(self, workflow_id: str) -> Future[Any] | None:
        """The future of a workflow running in this process, if any."""
        ...

    def interrupt(self, workflow_id: str) -> None:
        """Stop this process's execution of the workflow (if any) at its next effect."""
        ...
