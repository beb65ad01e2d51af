"""Messages: ``send`` inserts and checkpoints in one transaction, ``recv`` consumes and
checkpoints in one transaction, so a crash can neither lose nor duplicate a message.

``recv`` (and ``get_event``, which shares :func:`wait_durably`) takes two function ids:
the operation at N and its durable timeout, a ``DBOS.sleep`` checkpoint, at N + 1. As in
DBOS, the deadline is recorded only when the operation has to wait; once recorded it is
reused, so after a crash only the remaining time is waited.
"""

from __future__ import annotations

from typing import Any, TypeVar

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Effect, Recv, Send
from transact._runtime.clock import now_ms
from transact._runtime.durable import wait_durably
from transact._runtime.env import Env, Performer
from transact._runtime.formats import value_serializer
from transact._runtime.management import forks_of
from transact._runtime.recording import atomic_write, digest_of, record
from transact._runtime.state import WorkflowState
from transact._runtime.waiters import message_key
from transact._serialization import serialize_value
from transact._store.records import OutgoingMessage

T = TypeVar("T")

SLEEP_NAME = "DBOS.sleep"


def execute_send(state: WorkflowState, function_id: int, effect: Send) -> None:
    """Insert the message and the sender's ``DBOS.send`` checkpoint in one transaction.

    Raises ``SerializationError`` (nothing written) for a message the serializer cannot
    carry, and ``DBOSNonExistentWorkflowError`` for an unknown destination.
    """
    env = state.env
    serializer = value_serializer(env, effect.serialization_type, state.serialization)
    text = serialize_value(serializer, effect.message, "the message")
    now = now_ms(env.clock)
    checkpoint = Checkpoint(
        function_id,
        effect.checkpoint_name,
        args_digest=digest_of(state, function_id),
        started_at_epoch_ms=now,
        completed_at_epoch_ms=now,
    )
    # No message id: the checkpoint, written in the same transaction, already makes the
    # send happen exactly once; a replay returns before reaching the store.
    if effect.send_to_forks:
        destinations = [effect.destination_id, *forks_of(env.store, effect.destination_id)]
        outgoing = [OutgoingMessage(d, effect.topic, text) for d in destinations]
        with atomic_write(state):
            env.store.send_messages(
                outgoing, now_ms=now, checkpoint=(state.workflow_id, checkpoint)
            )
        for destination in destinations:
            env.waiters.notify(message_key(destination, effect.topic))
        return
    with atomic_write(state):
        env.store.send_message(
            effect.destination_id,
            effect.topic,
            text,
            message_id=None,
            now_ms=now,
            checkpoint=(state.workflow_id, checkpoint),
        )
    env.waiters.notify(message_key(effect.destination_id, effect.topic))


def outgoing_unrecorded(
    env: Env,
    destination_id: str,
    message: Any,
    topic: str | None,
    idempotency_key: str | None,
    send_to_forks: bool = False,
    serialization_type: str | None = None,
    workflow_serialization: str | None = None,
) -> list[OutgoingMessage]:
    """The rows of a send from outside workflow code: one for the destination (and, with
    ``send_to_forks``, one for each workflow forked from it, recursively); with
    ``idempotency_key`` each row's id is ``"<key>::<destination>"``, so a repeat inserts
    nothing. ``SerializationError`` before anything is written."""
    serializer = value_serializer(env, serialization_type, workflow_serialization)
    text = serialize_value(serializer, message, "the message")
    forks = forks_of(env.store, destination_id) if send_to_forks else []
    return [
        OutgoingMessage(
            d, topic, text, None if idempotency_key is None else f"{idempotency_key}::{d}"
        )
        for d in (destination_id, *forks)
    ]


def send_unrecorded(
    env: Env,
    destination_id: str,
    message: Any,
    topic: str | None,
    idempotency_key: str | None,
    send_to_forks: bool = False,
    serialization_type: str | None = None,
    workflow_serialization: str | None = None,
) -> None:
    """Send from outside workflow code (a client, or a step): a plain insert of the rows
    of ``outgoing_unrecorded``, in one transaction. Raises ``SerializationError`` or
    ``DBOSNonExistentWorkflowError``, having written nothing.
    """
    outgoing = outgoing_unrecorded(
        env,
        destination_id,
        message,
        topic,
        idempotency_key,
        send_to_forks,
        serialization_type,
        workflow_serialization,
    )
    if len(outgoing) > 1:
        sent = env.store.send_messages(outgoing, now_ms=now_ms(env.clock))
    else:
        only = outgoing[0]
        sent = [
            env.store.send_message(
                only.destination_id,
                topic,
                only.message,
                message_id=only.message_id,
                now_ms=now_ms(env.clock),
            )
        ]
    for m, inserted in zip(outgoing, sent, strict=True):
        if inserted:
            env.waiters.notify(message_key(m.destination_id, topic))


def execute_recv(state: WorkflowState, function_id: int, effect: Recv) -> Any:
    """Consume the oldest message on the topic (recording it), or time out durably.

    A timeout records ``None`` at N, so a replay returns ``None`` again. Raises
    ``DBOSWorkflowCancelledError`` if the workflow is cancelled while waiting.
    """
    env = state.env
    clock = env.clock
    started = now_ms(clock)

    def take() -> str | None:
        checkpoint = Checkpoint(
            function_id,
            effect.checkpoint_name,
            args_digest=digest_of(state, function_id),
            started_at_epoch_ms=started,
            completed_at_epoch_ms=now_ms(clock),
        )
        with atomic_write(state):
            return env.store.consume_message(state.workflow_id, effect.topic, checkpoint)

    text = wait_durably(
        state,
        function_id,
        message_key(state.workflow_id, effect.topic),
        take,
        effect.timeout_seconds,
        # A read: the empty checks (the first one, and each poll for other processes'
        # sends on SQLite) take no write lock and write nothing.
        peek=lambda: env.store.has_message(state.workflow_id, effect.topic),
    )
    if text is not None:
        return env.serializer.deserialize(text)
    record(
        state,
        Checkpoint(
            function_id,
            effect.checkpoint_name,
            args_digest=digest_of(state, function_id),
            output=env.serializer.serialize(None),
            started_at_epoch_ms=started,
            completed_at_epoch_ms=now_ms(clock),
        ),
    )
    return None


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    Send: Performer(execute_send),
    # The recorded output of a recv is the message, or None for a timeout.
    Recv: Performer(execute_recv),
}
