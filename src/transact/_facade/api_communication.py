"""Messages, events and streams on the ``DBOS`` class.

Each method finds where it is called from: in workflow code it performs an effect (so it
is checkpointed and replayed), inside a step or outside any workflow it reads or writes
the store directly, where DBOS allows that. Arguments are validated here, before any
function id is taken or anything is written.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any

from transact._core.effects import (
    ReadStream,
    SendMessage,
)
from transact._facade.communication_effects import (
    check_key,
    check_offset,
    check_timeout,
    check_workflow_id,
    close_stream_effect,
    get_all_events_effect,
    get_event_effect,
    recv_effect,
    send_bulk_effect,
    send_effect,
    set_event_effect,
    write_stream_effect,
)
from transact._facade.launched import runtime
from transact._facade.routing import perform_or_else_async
from transact._runtime.handlers import bulk_messages, events, messages, streams
from transact._runtime.interpreter import check_cancelled, perform
from transact._runtime.state import Frame, WorkflowState, current_frame, current_workflow
from transact.errors import DBOSException


class CommunicationAPI:
    """``send``/``recv``, ``set_event``/``get_event``/``get_all_events`` and streams."""

    # --- messages --------------------------------------------------------------------

    @classmethod
    def send(
        cls,
        destination_id: str,
        message: Any,
        topic: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Send ``message`` to workflow ``destination_id`` on ``topic``.

        In workflow code the send is checkpointed in the same transaction as the message,
        so it happens exactly once. Elsewhere (outside any workflow, or in a step) it is a
        plain insert; an ``idempotency_key`` then makes repeating it a no-op (in workflow
        code the checkpoint already does, and the key is not used).

        Raises ``DBOSNonExistentWorkflowError`` if the destination does not exist,
        ``SerializationError`` if the message cannot be serialized (nothing is written
        either way), ``ValueError`` for an empty destination id or key.
        """
        effect = send_effect(destination_id, message, topic, idempotency_key)
        state = current_workflow()
        if state is not None:
            perform(state, effect)
            return
        messages.send_unrecorded(runtime().env, destination_id, message, topic, idempotency_key)

    @classmethod
    def send_bulk(cls, messages: Iterable[SendMessage]) -> None:
        """Send every ``SendMessage`` of ``messages`` in one transaction (all or none).

        In workflow code the messages and one ``DBOS.send_bulk`` checkpoint are written
        together; elsewhere a message's ``idempotency_key`` makes repeating it a no-op.
        Raises as ``DBOS.send`` does, naming every missing destination, and
        ``DBOSException`` for an idempotency key given twice.
        """
        effect = send_bulk_effect(messages)
        state = current_workflow()
        if state is not None:
            perform(state, effect)
            return
        bulk_messages.send_bulk_unrecorded(runtime().env, effect.messages)

    @classmethod
    def recv(cls, topic: str | None = None, timeout_seconds: float = 60) -> Any:
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
        return perform(_workflow_code("DBOS.recv"), effect)

    # --- events ----------------------------------------------------------------------

    @classmethod
    def set_event(cls, key: str, value: Any) -> None:
        """Set this workflow's event ``key`` to ``value`` (readers see the latest value).

        Checkpointed in workflow code; inside a step it is written without a checkpoint
        (its history entry takes the step's function id).

        Raises ``DBOSException`` outside a workflow, ``ValueError`` for an empty key,
        ``SerializationError`` for a value that cannot be serialized.
        """
        effect = set_event_effect(key, value)
        frame = current_frame()
        if frame is None:
            raise DBOSException("DBOS.set_event is only allowed inside a workflow or a step")
        if frame.step_id is None:
            perform(frame.workflow, effect)
            return
        events.set_event_unrecorded(
            frame.workflow.env, frame.workflow.workflow_id, frame.step_id, key, value
        )

    @classmethod
    def get_event(cls, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
        """The latest value of event ``key`` of ``workflow_id``, waiting up to
        ``timeout_seconds`` for it to be set; None on timeout.

        Allowed anywhere. In workflow code the outcome is checkpointed and the timeout is
        durable (two function ids: ``DBOS.getEvent`` at N, ``DBOS.sleep`` at N + 1).

        Raises ``ValueError`` for an empty id or key or a negative timeout.
        """
        effect = get_event_effect(workflow_id, key, timeout_seconds)
        frame = current_frame()
        if frame is not None and frame.step_id is None:
            return perform(frame.workflow, effect)
        interrupt = frame.workflow.cancelled if frame is not None else None
        timeout = effect.timeout_seconds
        value = events.get_event_unrecorded(runtime().env, workflow_id, key, timeout, interrupt)
        if frame is not None:
            check_cancelled(frame.workflow)  # a step's wait ends early on cancellation
        return value

    @classmethod
    def get_all_events(cls, workflow_id: str) -> dict[str, Any]:
        """The latest value of every event of ``workflow_id`` (recorded as
        ``DBOS.get_events`` in workflow code). Empty for an unknown workflow."""
        effect = get_all_events_effect(workflow_id)
        state = current_workflow()
        if state is not None:
            values: dict[str, Any] = perform(state, effect)
            return values
        return events.get_all_events(runtime().env, workflow_id)

    # --- streams ---------------------------------------------------------------------

    @classmethod
    def write_stream(cls, key: str, value: Any) -> None:
        """Append ``value`` to this workflow's stream ``key``.

        Checkpointed in workflow code; inside a step written without a checkpoint.
        Raises ``DBOSException`` outside a workflow, ``ValueError`` for an empty key (or
        the close marker itself as a value), ``SerializationError`` for a value that cannot
        be serialized.
        """
        effect = write_stream_effect(key, value)
        frame = _writer_frame("DBOS.write_stream")
        if frame.step_id is None:
            perform(frame.workflow, effect)
            return
        wf = frame.workflow
        streams.write_unrecorded(wf.env, wf.workflow_id, frame.step_id, key, value)

    @classmethod
    def close_stream(cls, key: str) -> None:
        """Close this workflow's stream ``key``: readers stop after its last value.

        Raises ``DBOSException`` outside a workflow, ``ValueError`` for an empty key.
        """
        effect = close_stream_effect(key)
        frame = _writer_frame("DBOS.close_stream")
        if frame.step_id is None:
            perform(frame.workflow, effect)
            return
        wf = frame.workflow
        streams.write_unrecorded(wf.env, wf.workflow_id, frame.step_id, key, None, close=True)

    @classmethod
    def read_stream(
        cls,
        workflow_id: str,
        key: str,
        *,
        offset: int = 0,
        polling_interval_sec: float | None = None,
        timeout_seconds: float | None = None,
    ) -> Generator[Any, None, None]:
        """Yield the values of stream ``key`` of ``workflow_id`` in order, from ``offset``.

        Ends when the stream is closed, or when the workflow has finished and everything
        it wrote was read. Many readers may read one stream. Writes in this process wake
        the reader at once; writes by other processes are seen within
        ``polling_interval_sec`` (default: the configured notification polling interval).
        In workflow code every value delivered, and the end, is checkpointed (one function
        id each), so a replay yields the same sequence.

        Raises ``ValueError`` for bad arguments (at the call, before iterating),
        ``DBOSNonExistentWorkflowError`` if the workflow does not exist and
        ``DBOSStreamTimeoutError`` if one value takes longer than ``timeout_seconds``
        (both while iterating).
        """
        check_workflow_id(workflow_id)
        check_key(key, "the stream key")
        check_offset(offset)
        timeout = (
            None if timeout_seconds is None else check_timeout(timeout_seconds, "timeout_seconds")
        )
        poll: float | None = None
        if polling_interval_sec is not None:
            poll = max(check_timeout(polling_interval_sec, "polling_interval_sec"), 0.001)
        frame = current_frame()
        if frame is not None and frame.step_id is None:
            return _recorded_reads(frame.workflow, workflow_id, key, offset, timeout, poll)
        interrupt = frame.workflow.cancelled if frame is not None else None
        env = runtime().env
        return streams.read_unrecorded(
            env, workflow_id, key, offset, timeout, poll or env.poll_seconds, interrupt
        )

    # --- async twins ---------------------------------------------------------------

    @classmethod
    async def send_async(
        cls,
        destination_id: str,
        message: Any,
        topic: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """``DBOS.send`` without blocking the loop."""
        await perform_or_else_async(
            send_effect(destination_id, message, topic, idempotency_key),
            lambda: cls.send(destination_id, message, topic, idempotency_key),
        )

    @classmethod
    async def send_bulk_async(cls, messages: Iterable[SendMessage]) -> None:
        """``DBOS.send_bulk`` without blocking the loop."""
        effect = send_bulk_effect(messages)
        await perform_or_else_async(
            effect, lambda: bulk_messages.send_bulk_unrecorded(runtime().env, effect.messages)
        )

    @classmethod
    async def recv_async(cls, topic: str | None = None, timeout_seconds: float = 60) -> Any:
        """``DBOS.recv`` without blocking the loop."""
        return await perform_or_else_async(
            recv_effect(topic, timeout_seconds), lambda: cls.recv(topic, timeout_seconds)
        )

    @classmethod
    async def set_event_async(cls, key: str, value: Any) -> None:
        """``DBOS.set_event`` without blocking the loop."""
        await perform_or_else_async(set_event_effect(key, value), lambda: cls.set_event(key, value))

    @classmethod
    async def get_event_async(cls, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
        """``DBOS.get_event`` without blocking the loop."""
        return await perform_or_else_async(
            get_event_effect(workflow_id, key, timeout_seconds),
            lambda: cls.get_event(workflow_id, key, timeout_seconds),
        )

    @classmethod
    async def get_all_events_async(cls, workflow_id: str) -> dict[str, Any]:
        """``DBOS.get_all_events`` without blocking the loop."""
        return await perform_or_else_async(
            get_all_events_effect(workflow_id), lambda: cls.get_all_events(workflow_id)
        )

    @classmethod
    async def write_stream_async(cls, key: str, value: Any) -> None:
        """``DBOS.write_stream`` without blocking the loop."""
        await perform_or_else_async(
            write_stream_effect(key, value), lambda: cls.write_stream(key, value)
        )

    @classmethod
    async def close_stream_async(cls, key: str) -> None:
        """``DBOS.close_stream`` without blocking the loop."""
        await perform_or_else_async(close_stream_effect(key), lambda: cls.close_stream(key))


def _workflow_code(what: str) -> WorkflowState:
    frame = current_frame()
    if frame is None:
        raise DBOSException(f"{what} is only allowed inside a workflow")
    if frame.step_id is not None:
        raise DBOSException(f"{what} is not allowed inside a step, only in workflow code")
    return frame.workflow


def _writer_frame(what: str) -> Frame:
    frame = current_frame()
    if frame is None:
        raise DBOSException(f"{what} is only allowed inside a workflow or a step")
    return frame


def _recorded_reads(
    state: WorkflowState,
    workflow_id: str,
    key: str,
    offset: int,
    timeout: float | None,
    poll: float | None,
) -> Generator[Any, None, None]:
    while True:
        item = perform(state, ReadStream(workflow_id, key, offset, timeout, poll))
        if item is streams.STREAM_END:
            return
        yield item
        offset += 1
