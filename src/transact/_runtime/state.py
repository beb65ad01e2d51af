"""Per-execution state of a running workflow, found through a context variable."""

from __future__ import annotations

import contextvars
import threading
from typing import TYPE_CHECKING

import attrs

from transact._core.checkpoint import EMPTY_LOG, CheckpointLog

if TYPE_CHECKING:
    from transact._runtime.runtime import Runtime


@attrs.define(eq=False)
class WorkflowState:
    """One execution of one workflow.

    ``log`` is empty for a new workflow (its row was just inserted, so there is nothing
    to read); a re-execution loads it once. ``function_id`` is the last id issued.
    """

    runtime: Runtime
    workflow_id: str
    name: str
    log: CheckpointLog = EMPTY_LOG
    function_id: int = 0
    deadline: float | None = None  # epoch seconds; past it the workflow is cancelled
    authenticated_user: str | None = None  # stored with the workflow, restored on recovery
    authenticated_roles: tuple[str, ...] | None = None
    # Set by the replayer: every effect must come from the log; executing one is an error.
    replay_only: bool = False
    finishing: bool = False  # its outcome is being written
    cancelled: threading.Event = attrs.field(factory=threading.Event)
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
