"""Durable waits: deadlines recorded as ``DBOS.sleep`` checkpoints, so a restart waits
only what is left.

``recv`` and ``get_event`` take two function ids: the operation at N and its durable
timeout, a ``DBOS.sleep`` checkpoint, at N + 1. As in DBOS, the deadline is recorded only
when the operation has to wait; once recorded it is reused. ``DBOS.sleep`` records its
wake-up time the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from transact._core.checkpoint import Checkpoint
from transact._runtime.recording import check_cancelled, digest_of, record
from transact._runtime.state import WorkflowState
from transact._runtime.waiters import wait_registered
from transact.errors import DBOSUnexpectedStepError, DBOSWorkflowCancelledError

T = TypeVar("T")

SLEEP_NAME = "DBOS.sleep"


def wait_durably(
    state: WorkflowState,
    function_id: int,
    key: str,
    take: Callable[[], T | None],
    timeout_seconds: float,
    *,
    peek: Callable[[], bool] | None = None,
) -> T | None:
    """Return ``take()``'s first non-None value, or None once the durable timeout passes.

    ``peek``, if given, is a cheap test (a read, where ``take`` writes) of whether
    ``take`` would find something; ``take`` then runs only when it would, or when a
    wake-up under ``key`` says something arrived. The waiter registers under ``key``
    first and checks once; only if that finds nothing is the deadline taken from (or
    recorded as) the ``DBOS.sleep`` checkpoint at ``function_id + 1``, and a write that
    lands meanwhile still wakes the wait at once. Re-checks every
    ``env.poll_seconds`` too. Raises ``DBOSWorkflowCancelledError`` if the workflow
    is cancelled, or passes its own deadline, while waiting.
    """
    env = state.env

    def unless_cancelled() -> T | None:
        # A wait woken by cancellation or shutdown must not consume a message on its way
        # out: after a shutdown the row is still PENDING, so the write would succeed and
        # steal the message from the execution that recovers this workflow.
        return None if state.cancelled.is_set() else take()

    with env.waiters.registered(key) as woken:
        found = take() if peek is None or peek() else None
        if found is not None:
            return found
        wake_at = durable_deadline(state, function_id + 1, timeout_seconds)
        # The workflow's own timeout may come first; check_cancelled below then cancels it.
        deadline = wake_at if state.deadline is None else min(wake_at, state.deadline)
        found = wait_registered(
            woken,
            unless_cancelled,
            clock=env.clock,
            deadline=deadline,
            poll_seconds=env.poll_seconds,
            interrupt=state.cancelled,
            ready=peek,
        )
    check_cancelled(state)  # before the caller records anything
    return found


def durable_deadline(state: WorkflowState, sleep_id: int, timeout_seconds: float) -> float:
    """The wake-up time recorded at ``sleep_id``, or record one ``timeout_seconds`` ahead.

    Raises ``DBOSUnexpectedStepError`` if another operation is recorded there.
    """
    recorded = state.log.get(sleep_id)
    if recorded is None:
        return record_wake_time(state, sleep_id, timeout_seconds)
    if recorded.function_name != SLEEP_NAME:
        raise DBOSUnexpectedStepError(
            state.workflow_id, sleep_id, SLEEP_NAME, recorded.function_name
        )
    return float(state.env.serializer.deserialize(recorded.output or ""))


def record_wake_time(state: WorkflowState, function_id: int, seconds: float) -> float:
    """Record a ``DBOS.sleep`` checkpoint holding the wake-up time; return that time."""
    env = state.env
    now = env.clock.now()
    wake_at = now + max(seconds, 0.0)
    record(
        state,
        Checkpoint(
            function_id,
            "DBOS.sleep",
            args_digest=digest_of(state, function_id),
            output=env.serializer.serialize(wake_at),
            started_at_epoch_ms=int(now * 1000),
            completed_at_epoch_ms=int(wake_at * 1000),
        ),
    )
    return wake_at


def recorded_wake_time(state: WorkflowState, function_id: int) -> float | None:
    """The wake-up time recorded at ``function_id`` (a recv or get_event timeout), if any."""
    checkpoint = state.log.get(function_id)
    if checkpoint is None or checkpoint.output is None:
        return None
    return float(state.env.serializer.deserialize(checkpoint.output))


def sleep_until(state: WorkflowState, wake_at: float) -> None:
    """Wait until ``wake_at``; cancellation interrupts the wait."""
    clock = state.env.clock
    remaining = wake_at - clock.now()
    if remaining > 0 and clock.wait(state.cancelled, remaining):
        raise DBOSWorkflowCancelledError(
            f"Workflow {state.workflow_id} is cancelled. Aborting function."
        )
