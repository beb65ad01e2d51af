"""Durable sleep: the wake-up time is recorded first, so a restart waits only what is left."""

from __future__ import annotations

from typing import Any

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Effect, Sleep
from transact._runtime.durable import record_wake_time, sleep_until
from transact._runtime.env import Performer
from transact._runtime.state import WorkflowState


def replay_sleep(state: WorkflowState, function_id: int, checkpoint: Checkpoint, _: Sleep) -> None:
    """Wait out whatever is left until the recorded wake-up time."""
    wake_at = float(state.env.serializer.deserialize(checkpoint.output or ""))
    sleep_until(state, wake_at)


def execute_sleep(state: WorkflowState, function_id: int, effect: Sleep) -> None:
    """Record the wake-up time, then wait until it."""
    wake_at = record_wake_time(state, function_id, effect.seconds)
    sleep_until(state, wake_at)


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    Sleep: Performer(execute_sleep, replay_sleep),
}
