"""Messages between workflows: ``DBOS.send``, ``send_bulk``, ``recv`` and their twins.

Each operation has one validated constructor of its effect (``transact.fx`` builds its
effects with the same ones) and one routing decision: in workflow code the effect is
performed (checkpointed, replayed); elsewhere the message is written unrecorded, or the
call is refused with DBOS's error. Arguments are checked before any function id is
taken or anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from transact._core.effects import (
    Recv,
    Send,
    SendBulk,
    SendMessage,
)
from transact._facade.arguments import (
    check_key,
    check_timeout,
    check_topic,
    check_workflow_id,
)
from transact._facade.launched import runtime
from transact._facade.routing import perform_or_else_async
from transact._runtime.handlers import bulk_messages, messages
from transact._runtime.interpreter import perform
from transact._runtime.state import WorkflowState, current_frame, current_workflow
from transact._serialization import WorkflowSerializationFormat, format_name
from transact.errors import DBOSException


def send_effect(
    destination_id: str,
    message: Any,
    topic: str | None,
    idempotency_key: str | None,
    send_to_forks: bool = False,
    serialization_type: WorkflowSerializationFormat | None = None,
) -> Send:
    """The effect of ``DBOS.send`` in workflow code (``ValueError`` for bad arguments)."""
    check_workflow_id(destination_id, "destination_id")
    check_topic(topic)
    if idempotency_key is not None:
        check_key(idempotency_key, "idempotency_key")
    return Send(destination_id, message, topic, send_to_forks, format_name(serialization_type))


def send_bulk_effect(messages: Iterable[SendMessage], send_to_forks: bool = False) -> SendBulk:
    """The effect of ``DBOS.send_bulk``: each message validated as ``DBOS.send`` does;
    ``DBOSException`` for idempotency keys given twice (before anything is written)."""
    batch = tuple(messages)
    for m in batch:
        send_effect(m.destination_id, m.message, m.topic, m.idempotency_key)
    keys = [m.idempotency_key for m in batch if m.idempotency_key is not None]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise DBOSException(f"send_bulk received duplicate idempotency keys: {', '.join(repeated)}")
    return SendBulk(batch, send_to_forks)


def recv_effect(topic: str | None, timeout_seconds: float) -> Recv:
    """The effect of ``DBOS.recv`` (``ValueError`` for bad arguments)."""
    return Recv(check_topic(topic), check_timeout(timeout_seconds, "timeout_seconds"))


def send(
    destination_id: str,
    message: Any,
    topic: str | None = None,
    idempotency_key: str | None = None,
    *,
    send_to_forks: bool = False,
    serialization_type: WorkflowSerializationFormat | None = None,
) -> None:
    """Send ``message`` to workflow ``destination_id`` on ``topic`` (with
    ``send_to_forks``, also to every workflow forked from it, and their forks).

    In workflow code the send is checkpointed in the same transaction as the message,
    so it happens exactly once. Elsewhere (outside any workflow, or in a step) it is a
    plain insert; an ``idempotency_key`` then makes repeating it a no-op (in workflow
    code the checkpoint already does, and the key is not used).

    ``serialization_type`` (``WorkflowSerializationFormat``) stores the message as
    portable JSON or pickle; by default a portable workflow sends portable JSON and
    anything else the configured serializer's text.

    Raises ``DBOSNonExistentWorkflowError`` if the destination does not exist,
    ``SerializationError`` if the message cannot be serialized (nothing is written
    either way), ``ValueError`` for an empty destination id or key.
    """
    effect = send_effect(
        destination_id, message, topic, idempotency_key, send_to_forks, serialization_type
    )
    state = current_workflow()
    if state is not None:
        perform(state, effect)
        return
    frame = current_frame()  # in a step: the workflow's format is the default
    messages.send_unrecorded(
        runtime().env,
        destination_id,
        message,
        topic,
        idempotency_key,
        send_to_forks,
        effect.serialization_type,
        frame.workflow.serialization if frame is not None else None,
    )


def send_bulk(messages: Iterable[SendMessage], *, send_to_forks: bool = False) -> None:
    """Send every ``SendMessage`` of ``messages`` in one transaction (all or none).

    In workflow code the messages and one ``DBOS.send_bulk`` checkpoint are written
    together; elsewhere a message's ``idempotency_key`` makes repeating it a no-op.
    Raises as ``DBOS.send`` does, naming every missing destination, and
    ``DBOSException`` for an idempotency key given twice. ``send_to_forks`` sends each
    message to the forks of its destination too, as ``DBOS.send`` does.
    """
    effect = send_bulk_effect(messages, send_to_forks)
    state = current_workflow()
    if state is not None:
        perform(state, effect)
        return
    bulk_messages.send_bulk_unrecorded(runtime().env, effect.messages, send_to_forks)


def recv(topic: str | None = None, timeout_seconds: float = 60) -> Any:
    """Consume the oldest message sent to this workflow on ``topic``, waiting up to
    ``timeout_seconds`` for one; return it, or None on timeout.

    Consuming and checkpointing are one transaction, so each message is received
    exactly once. The timeout is durable: after a crash only the remaining time is
    waited, and a timed-out ``recv`` returns None again when replayed. Takes two
    function ids (``DBOS.recv`` at N, its ``DBOS.sleep`` deadline at N + 1).

    Raises ``DBOSException`` outside workflow code (also inside a step),
    ``ValueError`` for a negative timeout, ``DBOSWorkflowCancelledError`` if the
    workflow is cancelled while waiting.
    """
    effect = recv_effect(topic, timeout_seconds)
    return perform(_workflow_code("recv"), effect)


async def send_async(
    destination_id: str,
    message: Any,
    topic: str | None = None,
    idempotency_key: str | None = None,
    *,
    send_to_forks: bool = False,
    serialization_type: WorkflowSerializationFormat | None = None,
) -> None:
    """``DBOS.send`` without blocking the loop."""
    await perform_or_else_async(
        send_effect(
            destination_id, message, topic, idempotency_key, send_to_forks, serialization_type
        ),
        lambda: send(
            destination_id,
            message,
            topic,
            idempotency_key,
            send_to_forks=send_to_forks,
            serialization_type=serialization_type,
        ),
    )


async def send_bulk_async(messages: Iterable[SendMessage], *, send_to_forks: bool = False) -> None:
    """``DBOS.send_bulk`` without blocking the loop."""
    effect = send_bulk_effect(messages, send_to_forks)
    await perform_or_else_async(
        effect,
        lambda: bulk_messages.send_bulk_unrecorded(runtime().env, effect.messages, send_to_forks),
    )


async def recv_async(topic: str | None = None, timeout_seconds: float = 60) -> Any:
    """``DBOS.recv`` without blocking the loop."""
    return await perform_or_else_async(
        recv_effect(topic, timeout_seconds), lambda: recv(topic, timeout_seconds)
    )


def _workflow_code(what: str) -> WorkflowState:
    frame = current_frame()
    if frame is None or frame.step_id is not None:  # DBOS refuses steps alike
        raise DBOSException(f"{what}() must be called from within a workflow")
    return frame.workflow
