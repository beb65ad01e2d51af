"""Recording: the writes every handler shares.

``record`` writes one checkpoint, ``record_outcome`` a step-like outcome (a result or an
error) in one write, ``atomic_write`` guards a store write that carries its checkpoint in
the same transaction, and ``replay_outcome`` returns (or raises) what was recorded. A
write refused because the workflow is no longer PENDING becomes a cancellation or a
conflict (``translate_not_pending``). Handlers import these; they never import each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from transact._core.checkpoint import Checkpoint
from transact._core.decide import Changed, Replay
from transact._core.digest import arguments
from transact._core.effects import Effect
from transact._core.status import WorkflowStatusString
from transact._runtime.clock import now_ms
from transact._runtime.state import WorkflowState
from transact._serialization import deserialize_error, serialize_error, serialize_value
from transact._store.errors import WorkflowNotPending
from transact.errors import (
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
    NondeterminismError,
)

T = TypeVar("T")
logger = logging.getLogger("transact")


def replay_outcome(state: WorkflowState, function_id: int, checkpoint: Checkpoint, _: Any) -> Any:
    """Return the recorded output, or raise the recorded error."""
    serializer = state.env.serializer
    if checkpoint.error is not None:
        raise deserialize_error(serializer, checkpoint.error)
    if checkpoint.output is None:
        return None
    return serializer.deserialize(checkpoint.output)


def digest_of(state: WorkflowState, function_id: int) -> str | None:
    """The argument digest the checkpoint at ``function_id`` records (set by ``perform``)."""
    return state.digests.get(function_id)


def arguments_changed(
    state: WorkflowState, function_id: int, effect: Effect[Any], changed: Changed
) -> Replay:
    """The log holds this operation here with other arguments: warn (or, under
    ``strict_determinism``, raise ``NondeterminismError``); then it replays."""
    recorded = changed.checkpoint
    name = recorded.function_name
    if state.env.strict_determinism:
        raise NondeterminismError(
            state.workflow_id,
            function_id,
            f"{name} with arguments {changed.issued_digest}",
            f"{name} with arguments {recorded.args_digest}",
        )
    logger.warning(
        "Workflow %s step %d (%s) was recorded with other arguments (digest %s) than it is "
        "called with now (digest %s: %r); the recorded outcome is replayed. Use DBOS.patch "
        "for a deliberate change; strict_determinism makes this an error.",
        state.workflow_id,
        function_id,
        name,
        recorded.args_digest,
        changed.issued_digest,
        arguments(effect),
    )
    return Replay(recorded)


def check_cancelled(state: WorkflowState) -> None:
    """Raise if this execution was cancelled (in this process) or ran past its deadline."""
    if state.cancelled.is_set():
        raise DBOSWorkflowCancelledError(
            f"Workflow {state.workflow_id} is cancelled. Aborting function."
        )
    if state.deadline is not None and state.env.clock.now() >= state.deadline:
        state.host.cancel_for_timeout(state)
        raise DBOSWorkflowCancelledError(
            f"Workflow {state.workflow_id} is cancelled. Aborting function."
        )


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
                f"Workflow {self.state.workflow_id} is cancelled. Aborting function."
            ) from None
        raise DBOSWorkflowConflictIDError(self.state.workflow_id) from None


def record_outcome(
    state: WorkflowState,
    function_id: int,
    name: str,
    started: int,
    result: Any,
    error: Exception | None,
) -> Any:
    """Record a step's outcome in one write; return its result or raise its error.

    Shared by steps, management calls, failed transactions and the asyncio driver.
    """
    env = state.env
    output_text: str | None = None
    error_text: str | None = None
    if error is None:
        try:
            output_text = serialize_value(env.serializer, result, f"the result of {name}")
        except Exception as exc:
            error = exc
    if error is not None:
        error_text = serialize_error(env.serializer, error)
    record(
        state,
        Checkpoint(
            function_id,
            name,
            args_digest=digest_of(state, function_id),
            output=output_text,
            error=error_text,
            started_at_epoch_ms=started,
            completed_at_epoch_ms=now_ms(env.clock),
        ),
    )
    if error is not None:
        raise error
    return result


@contextmanager
def atomic_write(state: WorkflowState) -> Iterator[None]:
    """Around a store write that records a checkpoint of ``state`` in its transaction.

    Refuses to write after ``DBOS.destroy()`` (as ``record`` does): the workflow stays
    PENDING for the next launch, which must find the message or value untouched. A write
    refused because the workflow is no longer PENDING raises as ``record`` would.
    """
    if state.env.closing:
        raise DBOSWorkflowCancelledError("the executor was shut down")
    with translate_not_pending(state):
        yield


def recorded_read(state: WorkflowState, function_id: int, name: str, read: Callable[[], T]) -> T:
    """Run ``read`` and record its result (or error) under ``name``."""
    started = now_ms(state.env.clock)
    try:
        result, error = read(), None
    except Exception as exc:
        result, error = None, exc
    value: T = record_outcome(state, function_id, name, started, result, error)
    return value
