"""``perform``: the one interpreter of effects, shared by both surfaces and all drivers.

For each effect it takes the next function ids, asks the pure ``decide`` whether the
log already holds an outcome at that position, and then replays that outcome or runs
the effect's handler, which does the I/O and records the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from transact._core.checkpoint import Checkpoint
from transact._core.decide import Execute, Replay, decide
from transact._core.effects import Effect
from transact._core.status import WorkflowStatusString
from transact._runtime.state import WorkflowState
from transact._serialization import deserialize_error
from transact._store.errors import WorkflowNotPending
from transact.errors import (
    DBOSUnexpectedStepError,
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
)

T = TypeVar("T")
E = TypeVar("E", bound=Effect[Any])

Executor = Callable[[WorkflowState, int, Any], Any]
Replayer = Callable[[WorkflowState, int, Checkpoint, Any], Any]

_EXECUTORS: dict[type[Effect[Any]], Executor] = {}
_REPLAYERS: dict[type[Effect[Any]], Replayer] = {}


def handler(
    effect_type: type[E],
    *,
    replay: Callable[[WorkflowState, int, Checkpoint, E], Any] | None = None,
) -> Callable[[Callable[[WorkflowState, int, E], Any]], Callable[[WorkflowState, int, E], Any]]:
    """Register the function that executes ``effect_type`` (and optionally replays it)."""

    def register(
        execute: Callable[[WorkflowState, int, E], Any],
    ) -> Callable[[WorkflowState, int, E], Any]:
        _EXECUTORS[effect_type] = execute
        if replay is not None:
            _REPLAYERS[effect_type] = replay
        return execute

    return register


def perform(state: WorkflowState, effect: Effect[T]) -> T:
    """Perform ``effect`` in workflow ``state``: replay its recorded outcome or run it."""
    check_cancelled(state)
    return perform_at(state, state.issue(effect.ids), effect)


def perform_at(state: WorkflowState, function_id: int, effect: Effect[T]) -> T:
    """Perform ``effect`` at an already issued ``function_id`` (the async driver issues
    ids before its first ``await``, so concurrent effects keep their call order)."""
    decision = decide(state.log, function_id, effect)
    if isinstance(decision, Execute) and state.replay_only:
        raise DBOSUnexpectedStepError(
            state.workflow_id, function_id, effect.checkpoint_name, "nothing (the history ends)"
        )
    if isinstance(decision, Execute):
        result: T = _EXECUTORS[type(effect)](state, function_id, effect)
        return result
    if isinstance(decision, Replay):
        replayer = _REPLAYERS.get(type(effect), replay_outcome)
        replayed: T = replayer(state, function_id, decision.checkpoint, effect)
        return replayed
    raise DBOSUnexpectedStepError(
        state.workflow_id, decision.function_id, decision.issued, decision.recorded
    )


def replay_outcome(state: WorkflowState, function_id: int, checkpoint: Checkpoint, _: Any) -> Any:
    """Return the recorded output, or raise the recorded error."""
    serializer = state.env.serializer
    if checkpoint.error is not None:
        raise deserialize_error(serializer, checkpoint.error)
    if checkpoint.output is None:
        return None
    return serializer.deserialize(checkpoint.output)


def check_cancelled(state: WorkflowState) -> None:
    """Raise if this execution was cancelled (in this process) or ran past its deadline."""
    if state.cancelled.is_set():
        raise DBOSWorkflowCancelledError(f"Workflow {state.workflow_id} was cancelled")
    if state.deadline is not None and state.env.clock.now() >= state.deadline:
        state.host.cancel_for_timeout(state)
        raise DBOSWorkflowCancelledError(f"Workflow {state.workflow_id} exceeded its timeout")


def record(state: WorkflowState, checkpoint: Checkpoint) -> None:
    """Record ``checkpoint``; a workflow no longer PENDING stops here."""
    if state.env.closing:
        # After destroy() a thread still finishing user code must not write: the
        # workflow stays PENDING and the next launch recovers it.
        raise DBOSWorkflowCancelledError("the executor was shut down")
    with translate_not_pending(state):
        state.env.store.record_checkpoint(state.workflow_id, checkpoint)


class translate_not_pending:
    """Context manager: a write refused because the workflow is not PENDING means it was
    cancelled or deleted (stop quietly) or another executor finished it (a conflict)."""

    def __init__(self, state: WorkflowState) -> None:
        self.state = state

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if not isinstance(exc, WorkflowNotPending):
            return
        if exc.status in (None, WorkflowStatusString.CANCELLED.value):
            self.state.cancelled.set()
            raise DBOSWorkflowCancelledError(
                f"Workflow {self.state.workflow_id} was cancelled"
            ) from None
        raise DBOSWorkflowConflictIDError(self.state.workflow_id) from None
