"""Durable sleep: the wake-up time is recorded first, so a restart waits only what is left."""

from __future__ import annotations

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Sleep
from transact._runtime.interpreter import handler, record
from transact._runtime.state import WorkflowState
from transact.errors import DBOSWorkflowCancelledError


def _replay_sleep(state: WorkflowState, function_id: int, checkpoint: Checkpoint, _: Sleep) -> None:
    wake_at = float(state.env.serializer.deserialize(checkpoint.output or ""))
    sleep_until(state, wake_at)


@handler(Sleep, replay=_replay_sleep)
def execute_sleep(state: WorkflowState, function_id: int, effect: Sleep) -> None:
    """Record the wake-up time, then wait until it."""
    wake_at = record_wake_time(state, function_id, effect.seconds)
    sleep_until(state, wake_at)


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
        raise DBOSWorkflowCancelledError(f"Workflow {state.workflow_id} was cancelled")
