"""``DBOSClient``'s messages: ``send`` and ``send_bulk``, sent now in a transaction of
their own, and ``send_in_transaction`` / ``send_bulk_in_transaction``, inserted on the
caller's SQLAlchemy transaction and delivered when it commits (each with its ``_async``
twin). Outside workflow code nothing is checkpointed: an idempotency key makes a repeat
a no-op (the message id is ``"<key>::<destination>"``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from transact._client.connection import ClientBase
from transact._client.twins import on_sync_face, twin
from transact._core.effects import SendMessage
from transact._facade.api_messages import send_bulk_effect, send_effect
from transact._runtime.clock import now_ms
from transact._runtime.handlers import bulk_messages
from transact._runtime.handlers import messages as message_handlers
from transact._runtime.handlers.bulk_messages import outgoing_messages, with_forks
from transact._serialization import WorkflowSerializationFormat
from transact._store.sql.verbs import caller_transaction


def send(
    self: ClientBase,
    destination_id: str,
    message: Any,
    topic: str | None = None,
    idempotency_key: str | None = None,
    *,
    serialization_type: WorkflowSerializationFormat | None = None,
    send_to_forks: bool = False,
) -> None:
    """Send ``message`` to ``destination_id`` on ``topic``; with an
    ``idempotency_key`` a repeat sends nothing. ``serialization_type`` stores it as
    portable JSON or pickle (default: the client's serializer); ``send_to_forks``
    also sends it to every workflow forked from the destination."""
    effect = send_effect(
        destination_id, message, topic, idempotency_key, send_to_forks, serialization_type
    )
    message_handlers.send_unrecorded(
        self._connection.env,
        destination_id,
        message,
        topic,
        idempotency_key,
        send_to_forks,
        effect.serialization_type,
    )


send_async = twin(send)


def send_bulk(
    self: ClientBase, messages: Iterable[SendMessage], *, send_to_forks: bool = False
) -> None:
    """Send every message in one transaction (all or none); ``send_to_forks`` also
    sends each to the forks of its destination."""
    effect = send_bulk_effect(messages, send_to_forks)
    bulk_messages.send_bulk_unrecorded(self._connection.env, effect.messages, send_to_forks)


send_bulk_async = twin(send_bulk)


def send_in_transaction(
    self: ClientBase,
    conn_or_session: Any,
    destination_id: str,
    message: Any,
    topic: str | None = None,
    idempotency_key: str | None = None,
    *,
    serialization_type: WorkflowSerializationFormat | None = None,
    send_to_forks: bool = False,
) -> None:
    """Send as ``send`` does, on the caller's transaction: the message is delivered when
    it commits. ``DBOSNonExistentWorkflowError`` for an unknown destination, with
    nothing inserted."""
    effect = send_effect(
        destination_id, message, topic, idempotency_key, send_to_forks, serialization_type
    )
    env = self._connection.env
    outgoing = message_handlers.outgoing_unrecorded(
        env,
        destination_id,
        message,
        topic,
        idempotency_key,
        send_to_forks,
        effect.serialization_type,
    )
    conn = caller_transaction.caller_connection(conn_or_session)
    caller_transaction.send_messages(conn, outgoing, now_ms(env.clock))


async def send_in_transaction_async(
    self: ClientBase,
    conn_or_session: Any,
    destination_id: str,
    message: Any,
    topic: str | None = None,
    idempotency_key: str | None = None,
    *,
    serialization_type: WorkflowSerializationFormat | None = None,
    send_to_forks: bool = False,
) -> None:
    """``send_in_transaction`` on an ``AsyncConnection`` or ``AsyncSession``."""
    await on_sync_face(
        conn_or_session,
        lambda conn: send_in_transaction(
            self,
            conn,
            destination_id,
            message,
            topic,
            idempotency_key,
            serialization_type=serialization_type,
            send_to_forks=send_to_forks,
        ),
    )


def send_bulk_in_transaction(
    self: ClientBase,
    conn_or_session: Any,
    messages: Iterable[SendMessage],
    *,
    send_to_forks: bool = False,
) -> None:
    """Send every message as ``send_bulk`` does, on the caller's transaction (all are
    delivered when it commits). ``DBOSNonExistentWorkflowError`` naming every unknown
    destination, with nothing inserted."""
    effect = send_bulk_effect(messages, send_to_forks)
    env = self._connection.env
    outgoing = outgoing_messages(env, with_forks(env, effect.messages, send_to_forks), keyed=True)
    conn = caller_transaction.caller_connection(conn_or_session)
    caller_transaction.send_messages(conn, outgoing, now_ms(env.clock))


async def send_bulk_in_transaction_async(
    self: ClientBase,
    conn_or_session: Any,
    messages: Iterable[SendMessage],
    *,
    send_to_forks: bool = False,
) -> None:
    """``send_bulk_in_transaction`` on an ``AsyncConnection`` or ``AsyncSession``."""
    listed = list(messages)
    await on_sync_face(
        conn_or_session,
        lambda conn: send_bulk_in_transaction(self, conn, listed, send_to_forks=send_to_forks),
    )
