"""Events: the latest value per key of a workflow, plus a history keyed by function id.

``set_event`` writes the value, its history entry and (in workflow code) its checkpoint
in one transaction. ``get_event`` waits for the key; in workflow code it has a durable
timeout at N + 1 (see :func:`~transact._runtime.handlers.messages.wait_durably`) and its
outcome, the value or None, is recorded at N.
"""

from __future__ import annotations

import threading
from typing import Any

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Effect, GetEvent, SetEvent
from transact._runtime.clock import now_ms
from transact._runtime.durable import wait_durably
from transact._runtime.env import Env, Performer
from transact._runtime.formats import value_serializer
from transact._runtime.recording import atomic_write, digest_of, record
from transact._runtime.state import WorkflowState
from transact._runtime.waiters import event_key
from transact._serialization import serialize_value


def execute_set_event(state: WorkflowState, function_id: int, effect: SetEvent) -> None:
    """Set the event and record ``DBOS.setEvent`` in one transaction.

    Raises ``SerializationError`` (nothing written) for a value that cannot be stored.
    """
    env = state.env
    serializer = value_serializer(env, effect.serialization_type, state.serialization)
    text = serialize_value(serializer, effect.value, f"the value of event {effect.key!r}")
    now = now_ms(env.clock)
    checkpoint = Checkpoint(
        function_id,
        effect.checkpoint_name,
        args_digest=digest_of(state, function_id),
        started_at_epoch_ms=now,
        completed_at_epoch_ms=now,
    )
    with atomic_write(state):
        env.store.set_event(state.workflow_id, effect.key, text, function_id, checkpoint)
    env.waiters.notify(event_key(state.workflow_id, effect.key))


def set_event_unrecorded(
    env: Env,
    workflow_id: str,
    step_id: int,
    key: str,
    value: Any,
    serialization_type: str | None = None,
    workflow_serialization: str | None = None,
) -> None:
    """Set an event from inside a step: no checkpoint, the history entry takes the
    step's function id. Raises ``SerializationError`` having written nothing."""
    serializer = value_serializer(env, serialization_type, workflow_serialization)
    text = serialize_value(serializer, value, f"the value of event {key!r}")
    env.store.set_event(workflow_id, key, text, step_id, None)
    env.waiters.notify(event_key(workflow_id, key))


def execute_get_event(state: WorkflowState, function_id: int, effect: GetEvent) -> Any:
    """Wait for the event (durable timeout at N + 1) and record the value or None at N."""
    env = state.env
    started = now_ms(env.clock)
    text = wait_durably(
        state,
        function_id,
        event_key(effect.workflow_id, effect.key),
        lambda: env.store.get_event(effect.workflow_id, effect.key),
        effect.timeout_seconds,
    )
    record(
        state,
        Checkpoint(
            function_id,
            effect.checkpoint_name,
            args_digest=digest_of(state, function_id),
            # The stored text is recorded as is: the replay deserializes the same bytes.
            output=text if text is not None else env.serializer.serialize(None),
            started_at_epoch_ms=started,
            completed_at_epoch_ms=now_ms(env.clock),
        ),
    )
    return None if text is None else env.serializer.deserialize(text)


def get_event_unrecorded(
    env: Env,
    workflow_id: str,
    key: str,
    timeout_seconds: float,
    interrupt: threading.Event | None = None,
) -> Any:
    """Wait up to ``timeout_seconds`` for the event (outside workflow code); None on
    timeout or when ``interrupt`` is set."""
    text = env.waiters.wait_for(
        event_key(workflow_id, key),
        lambda: env.store.get_event(workflow_id, key),
        clock=env.clock,
        deadline=env.clock.now() + timeout_seconds,
        poll_seconds=env.poll_seconds,
        interrupt=interrupt,
    )
    return None if text is None else env.serializer.deserialize(text)


def get_all_events(env: Env, workflow_id: str) -> dict[str, Any]:
    """The latest value of every event of ``workflow_id`` (empty if it has none)."""
    events = env.store.get_all_events(workflow_id)
    return {key: env.serializer.deserialize(text) for key, text in events.items()}


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    SetEvent: Performer(execute_set_event),
    GetEvent: Performer(execute_get_event),
}
