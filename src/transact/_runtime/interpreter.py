"""``perform``: the one interpreter of effects, shared by both surfaces and all drivers.

For each effect it takes the next function ids, asks the pure ``decide`` whether the
log already holds an outcome at that position, and then replays that outcome or runs
the effect's performer (from ``state.env.performers``), which does the I/O and records
the checkpoint.
"""

from __future__ import annotations

from typing import TypeVar

from transact._core.decide import Changed, Execute, Replay, decide
from transact._core.digest import digest
from transact._core.effects import Effect
from transact._runtime.recording import arguments_changed, check_cancelled, replay_outcome
from transact._runtime.state import WorkflowState
from transact.errors import DBOSUnexpectedStepError

T = TypeVar("T")

# ``check_cancelled`` is re-exported: the facade checks it before unrecorded waits.
__all__ = ["check_cancelled", "perform", "perform_at"]


def perform(state: WorkflowState, effect: Effect[T]) -> T:
    """Perform ``effect`` in workflow ``state``: replay its recorded outcome or run it."""
    check_cancelled(state)
    return perform_at(state, state.issue(effect.ids), effect)


def perform_at(state: WorkflowState, function_id: int, effect: Effect[T]) -> T:
    """Perform ``effect`` at an already issued ``function_id`` (the async driver issues
    ids before its first ``await``, so concurrent effects keep their call order)."""
    decision = decide(state.log, function_id, effect)
    if state.on_divergence is not None and not isinstance(decision, Replay):
        state.on_divergence(function_id, effect, decision)
    if isinstance(decision, Execute) and state.replay_only:
        raise DBOSUnexpectedStepError(
            state.workflow_id, function_id, effect.checkpoint_name, "nothing (the history ends)"
        )
    if isinstance(decision, Execute):
        state.digests[function_id] = digest(effect)
        result: T = state.env.performers[type(effect)].execute(state, function_id, effect)
        return result
    if isinstance(decision, Changed):
        decision = arguments_changed(state, function_id, effect, decision)
    if isinstance(decision, Replay):
        replay = state.env.performers[type(effect)].replay or replay_outcome
        replayed: T = replay(state, function_id, decision.checkpoint, effect)
        return replayed
    raise DBOSUnexpectedStepError(
        state.workflow_id, decision.function_id, decision.issued, decision.recorded
    )
