"""``send_bulk``: many messages in one transaction, with the sender's checkpoint in
workflow code (so all of them are sent exactly once, or none)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Effect, SendBulk, SendMessage
from transact._runtime.clock import now_ms
from transact._runtime.env import Env, Performer
from transact._runtime.management import forks_of
from transact._runtime.recording import atomic_write, digest_of
from transact._runtime.state import WorkflowState
from transact._runtime.waiters import message_key
from transact._serialization import serialize_value
from transact._store.records import OutgoingMessage


def outgoing_messages(
    env: Env, messages: Sequence[SendMessage], *, keyed: bool
) -> list[OutgoingMessage]:
    """The messages serialized (``SerializationError`` before anything is written)."""
    return [
        OutgoingMessage(
            m.destination_id,
            m.topic,
            serialize_value(env.serializer, m.message, "the message"),
            message_id=(
                f"{m.idempotency_key}::{m.destination_id}"
                if keyed and m.idempotency_key is not None
                else None
            ),
        )
        for m in messages
    ]


def with_forks(env: Env, messages: Sequence[SendMessage], forks: bool) -> list[SendMessage]:
    """``messages``, and with ``forks`` a copy of each for every workflow forked
    (recursively) from its destination."""
    if not forks:
        return list(messages)
    return [
        attrs.evolve(m, destination_id=d)
        for m in messages
        for d in (m.destination_id, *forks_of(env.store, m.destination_id))
    ]


def execute_send_bulk(state: WorkflowState, function_id: int, effect: SendBulk) -> None:
    """Insert every message and the ``DBOS.send_bulk`` checkpoint in one transaction."""
    env = state.env
    messages = with_forks(env, effect.messages, effect.send_to_forks)
    outgoing = outgoing_messages(env, messages, keyed=False)
    now = now_ms(env.clock)
    checkpoint = Checkpoint(
        function_id,
        effect.checkpoint_name,
        args_digest=digest_of(state, function_id),
        started_at_epoch_ms=now,
        completed_at_epoch_ms=now,
    )
    # As for send: the checkpoint in the same transaction makes it exactly once.
    with atomic_write(state):
        env.store.send_messages(outgoing, now_ms=now, checkpoint=(state.workflow_id, checkpoint))
    for m in messages:
        env.waiters.notify(message_key(m.destination_id, m.topic))


def send_bulk_unrecorded(
    env: Env, messages: Sequence[SendMessage], send_to_forks: bool = False
) -> None:
    """Send from outside workflow code: one transaction, no checkpoint; a message with an
    idempotency key has the id ``"<key>::<destination>"`` (a repeat inserts nothing)."""
    messages = with_forks(env, messages, send_to_forks)
    outgoing = outgoing_messages(env, messages, keyed=True)
    inserted = env.store.send_messages(outgoing, now_ms=now_ms(env.clock))
    for m, new in zip(messages, inserted, strict=True):
        if new:
            env.waiters.notify(message_key(m.destination_id, m.topic))


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    SendBulk: Performer(execute_send_bulk),
}
