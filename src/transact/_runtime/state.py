"""Per-execution state of a running workflow, found through a context variable, and the
narrow ``Host`` protocol through which handlers reach the runtime that runs it."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from transact._core.checkpoint import EMPTY_LOG, CheckpointLog
from transact._core.effects import StartChild
from transact._runtime.env import Env
from transact._runtime.parking import Signal
from transact._store.records import WorkflowRecord


class Host(Protocol):
    """What handlers ask of the runtime beyond their ``Env``: starting children, waiting
    for outcomes, and acting on other workflows (cancel, resume, fork, delete)."""

    def prepare_child(
        self, parent: WorkflowState, child_id: str, effect: StartChild
    ) -> Callable[[bool], None] | None:
        """Insert a child's row; return a function that runs it (``inline`` or in the
        background), or None if the row existed already."""
        ...

    def wait_terminal(
        self,
        workflow_id: str,
        *,
        poll_seconds: float | None = None,
        interrupt: threading.Event | None = None,
        timeout: float | None = None,
    ) -> WorkflowRecord | None:
        """Wait until the workflow has an outcome; None if interrupted or timed out."""
        ...

    def wait_any(self, workflow_ids: Sequence[str], poll_seconds: float) -> str:
        """Wait until one of ``workflow_ids`` has finished; return the first finished one."""
        ...

    def cancel_for_timeout(self, state: WorkflowState) -> None:
        """The workflow ran past its deadline: cancel it."""
        ...

    def cancel(self, workflow_ids: list[str]) -> None:
        """Cancel the workflows; executions in this process stop at their next effect."""
        ...

    def resume(self, workflow_id: str, queue_name: str | None = None) -> None:
        """Put a workflow back in line and run it here from its log (or leave it
        enqueued on ``queue_name``)."""
        ...

    def fork(
        self,
        original_id: str,
        start_step: int,
        *,
        new_id: str | None,
        application_version: str | None,
        timeout_seconds: float | None,
        queue_name: str | None = None,
        queue_partition_key: str | None = None,
        replacement_children: Mapping[str, str] | None = None,
    ) -> str:
        """Fork ``original_id`` at ``start_step``; return the fork's id."""
        ...

    def delete(self, workflow_id: str, *, delete_children: bool) -> list[str]:
        """Delete the workflow (and its descendants); return the ids deleted."""
        ...

    def rewind(self, workflow_id: str, start_step: int, queue_name: str | None) -> None:
        """Run a finished workflow again from ``start_step`` (``management.rewind``)."""
        ...


@attrs.define(eq=False)
class WorkflowState:
    """One execution of one workflow.

    ``log`` is empty for a new workflow (its row was just inserted, so there is nothing
    to read); a re-execution loads it once. ``function_id`` is the last id issued.
    """

    env: Env
    host: Host
    workflow_id: str
    name: str
    log: CheckpointLog = EMPTY_LOG
    function_id: int = 0
    deadline: float | None = None  # epoch seconds; past it the workflow is cancelled
    authenticated_user: str | None = None  # stored with the workflow, restored on recovery
    authenticated_roles: tuple[str, ...] | None = None
    assumed_role: str | None = None  # the required role that let it run
    # The stored name of the workflow's serialization (its row's column; None: default).
    serialization: str | None = None
    queue_name: str | None = None  # the queue it was dequeued from (a span attribute)
    otel_context: str | None = None  # the stored trace context its span continues
    # The event loop an async workflow runs on (its async children run there too).
    loop: asyncio.AbstractEventLoop | None = None
    # Set by the replayer: every effect must come from the log; executing one is an error.
    replay_only: bool = False
    # Set by ``transact.testing.replay_history``: called with (function id, effect,
    # decision) when a decision is not a replay, to raise a structured divergence.
    on_divergence: Callable[[int, Any, Any], None] | None = None
    # The argument digest of each operation being executed, by function id: the
    # handler's checkpoint carries it (``recording.digest_of``).
    digests: dict[int, str] = attrs.field(factory=dict)
    finishing: bool = False  # its outcome is being written
    cancelled: threading.Event = attrs.field(factory=Signal)  # resumes parked waits
    # Serializes id assignment when a workflow issues effects from several threads.
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def issue(self, ids: int) -> int:
        """Take the next ``ids`` function ids; return the first."""
        with self.lock:
            first = self.function_id + 1
            self.function_id += ids
            return first


@attrs.frozen
class Frame:
    """Where code is running: inside a workflow, and possibly inside one of its steps."""

    workflow: WorkflowState
    step_id: int | None = None  # set while a step (or transaction) body runs
    # While a step with retries runs: its attempt (0-based) and how many it may make.
    attempt: int | None = None
    max_attempts: int | None = None


_current: contextvars.ContextVar[Frame | None] = contextvars.ContextVar(
    "transact_frame", default=None
)


def current_frame() -> Frame | None:
    """The frame of the running workflow code, or None outside any workflow."""
    return _current.get()


def current_workflow() -> WorkflowState | None:
    """The running workflow if we are in its own code (not inside one of its steps)."""
    frame = _current.get()
    if frame is None or frame.step_id is not None:
        return None
    return frame.workflow


def enter(frame: Frame | None) -> contextvars.Token[Frame | None]:
    """Make ``frame`` current; pass the token to :func:`leave`."""
    return _current.set(frame)


def leave(token: contextvars.Token[Frame | None]) -> None:
    """Restore the frame that was current before :func:`enter`."""
    _current.reset(token)
