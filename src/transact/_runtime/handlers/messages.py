"""Messages: ``send`` inserts and checkpoints in one transaction, ``recv`` consumes and
checkpoints in one transaction, so a crash can neither lose nor duplicate a message.

``recv`` (and ``get_event``, which shares :func:`wait_durably`) takes two function ids:
the operation at N and its durable timeout, a ``DBOS.sleep`` checkpoint, at N + 1. As in
DBOS, the deadline is recorded only when the operation has to wait; once recorded it is
reused, so after a crash only the remaining time is waited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Recv, Send
from transact._runtime.clock import now_ms
from transact._runtime.env import Env
from transact._runtime.handlers.sleep import record_wake_time
from transact._runtime.interpreter import check_cancelled, handler, record, translate_not_pending
from transact._runtime.state import WorkflowState
from transact._runtime.waiters import message_key, wait_registered
from transact._serialization import serialize_value
from transact.errors import DBOSUnexpectedStepError, DBOSWorkflowCancelledError

T = TypeVar("T")

SLEEP_NAME = "DBOS.sleep"


@handler(Send)
def execute_send(state: WorkflowState, function_id: int, effect: Send) -> None:
    """Insert the message and the sender's ``DBOS.send`` checkpoint in one transaction.

    Raises ``SerializationError`` (nothing written) for a message the serializer cannot
    carry, and ``DBOSNonExistentWorkflowError`` for an unknown destination.
    """
    env = state.env
    text = serialize_value(env.serializer, effect.message, "the message")
    now = now_ms(env.clock)
    checkpoint = Checkpoint(
        function_id, effect.checkpoint_name, started_at_epoch_ms=now, completed_at_epoch_ms=now
    )
    # No message id: the checkpoint, written in the same transaction, already makes the
    # send happen exactly once; a replay returns before reaching the store.
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


def send_unrecorded(
    env: Env,
    destination_id: str,
    message: Any,
    topic: str | None,
    idempotency_key: str | None,
) -> None:
    """Send from outside workflow code (a client, or a step): a plain insert.

    With ``idempotency_key`` the message id is ``"<key>::<destination>"`` and a repeat
    inserts nothing. Raises ``SerializationError`` or ``DBOSNonExistentWorkflowError``,
    having written nothing.
    """
    text = serialize_value(env.serializer, message, "the message")
    message_id = None if idempotency_key is None else f"{idempotency_key}::{destination_id}"
    inserted = env.store.send_message(
        destination_id, topic, text, message_id=message_id, now_ms=now_ms(env.clock)
    )
    if inserted:
        env.waiters.notify(message_key(destination_id, topic))


# Replay is the default one: the recorded output is the message, or None for a timeout.
@handler(Recv)
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
            output=env.serializer.serialize(None),
            started_at_epoch_ms=started,
            completed_at_epoch_ms=now_ms(clock),
        ),
    )
    return None


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
