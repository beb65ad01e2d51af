"""Streams: values appended at offsets 0, 1, ... per (workflow, key), closed by a marker.

Writes are checkpointed in the same transaction as the append. A read delivers the value
at one offset, or the end of the stream: the close marker, or the owner having finished
(no longer PENDING, ENQUEUED or DELAYED) with nothing more written. In workflow code each
delivery, the end included (recorded with no output), is a ``DBOS.readStream``
checkpoint, so a replay yields the same sequence.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any, Final

from transact._core.checkpoint import Checkpoint
from transact._core.effects import CloseStream, Effect, ReadStream, WriteStream
from transact._core.status import is_terminal
from transact._runtime.clock import now_ms
from transact._runtime.env import Env, Performer
from transact._runtime.recording import (
    atomic_write,
    check_cancelled,
    digest_of,
    record,
    replay_outcome,
)
from transact._runtime.state import WorkflowState, current_frame
from transact._runtime.waiters import stream_key
from transact._serialization import Serializer, serialize_error, serialize_value
from transact.errors import (
    DBOSNonExistentWorkflowError,
    DBOSStreamTimeoutError,
    DBOSWorkflowCancelledError,
)

STREAM_CLOSED_TEXT: Final = '"__DBOS_STREAM_CLOSED__"'
"""The stored text of the close marker: the JSON string DBOS writes, so databases stay
interchangeable. No user value can be stored as this text (see :func:`encode_value`)."""


class StreamEnd:
    """The type of :data:`STREAM_END`, what a read produces at the end of a stream."""

    def __repr__(self) -> str:
        return "STREAM_END"

    def __reduce__(self) -> str:
        return "STREAM_END"  # pickles as the module global: identity survives a round trip


STREAM_END: Final = StreamEnd()
"""Produced by a read at the end of a stream (compare with ``is``)."""


def encode_value(serializer: Serializer, key: str, value: Any) -> str:
    """The stored text of ``value``. Raises ``SerializationError`` if it cannot be
    serialized and ``ValueError`` if its text would read back as the close marker (only
    possible with a JSON serializer and the marker string itself)."""
    text = serialize_value(serializer, value, f"the value written to stream {key!r}")
    if text == STREAM_CLOSED_TEXT:
        raise ValueError(
            f"cannot write {value!r} to stream {key!r}: it is the stream's close marker"
        )
    return text


def decode(serializer: Serializer, text: str) -> Any:
    """The value stored as ``text``, or :data:`STREAM_END` for the close marker."""
    return STREAM_END if text == STREAM_CLOSED_TEXT else serializer.deserialize(text)


def _append(state: WorkflowState, function_id: int, name: str, key: str, text: str) -> None:
    env = state.env
    now = now_ms(env.clock)
    checkpoint = Checkpoint(
        function_id,
        name,
        args_digest=digest_of(state, function_id),
        started_at_epoch_ms=now,
        completed_at_epoch_ms=now,
    )
    with atomic_write(state):
        env.store.write_stream(state.workflow_id, key, text, function_id, checkpoint)
    env.waiters.notify(stream_key(state.workflow_id, key))


def execute_write_stream(state: WorkflowState, function_id: int, effect: WriteStream) -> None:
    """Append the value and record ``DBOS.writeStream`` in one transaction."""
    text = encode_value(state.env.serializer, effect.key, effect.value)
    _append(state, function_id, effect.checkpoint_name, effect.key, text)


def execute_close_stream(state: WorkflowState, function_id: int, effect: CloseStream) -> None:
    """Append the close marker and record ``DBOS.closeStream`` in one transaction."""
    _append(state, function_id, effect.checkpoint_name, effect.key, STREAM_CLOSED_TEXT)


def write_unrecorded(
    env: Env, workflow_id: str, step_id: int, key: str, value: Any, *, close: bool = False
) -> None:
    """Append from inside a step (no checkpoint; the entry takes the step's function id).
    ``close`` appends the close marker instead of ``value``."""
    text = STREAM_CLOSED_TEXT if close else encode_value(env.serializer, key, value)
    env.store.write_stream(workflow_id, key, text, step_id, None)
    env.waiters.notify(stream_key(workflow_id, key))


def wait_stream_text(
    env: Env,
    workflow_id: str,
    key: str,
    offset: int,
    *,
    deadline: float | None,
    poll_seconds: float,
    interrupt: threading.Event | None = None,
) -> str | None:
    """The text at ``offset``, :data:`STREAM_CLOSED_TEXT` once the stream has ended, or
    None if ``deadline`` passed (or ``interrupt`` was set) first.

    Raises ``DBOSNonExistentWorkflowError`` if the workflow does not exist.
    """
    texts = wait_stream_texts(
        env,
        workflow_id,
        key,
        offset,
        deadline=deadline,
        poll_seconds=poll_seconds,
        interrupt=interrupt,
    )
    return None if texts is None else texts[0]


def wait_stream_texts(
    env: Env,
    workflow_id: str,
    key: str,
    offset: int,
    *,
    deadline: float | None,
    poll_seconds: float,
    interrupt: threading.Event | None = None,
    limit: int = 1,
) -> tuple[str, ...] | None:
    """The texts from ``offset`` on (up to ``limit``, at least one; the last may be
    :data:`STREAM_CLOSED_TEXT`), ``(STREAM_CLOSED_TEXT,)`` once the stream has ended,
    or None if ``deadline`` passed (or ``interrupt`` was set) first.

    Raises ``DBOSNonExistentWorkflowError`` if the workflow does not exist.
    """
    store = env.store

    def check() -> tuple[str, ...] | None:
        if interrupt is not None and interrupt.is_set():
            return None
        read = store.read_stream(workflow_id, key, offset, limit)
        if read.value is not None:
            return (read.value, *read.following)
        if read.workflow_status is None:
            raise DBOSNonExistentWorkflowError("target", workflow_id)
        if is_terminal(read.workflow_status):
            # A write may have committed after the row was read: the owner has finished,
            # so one more read sees everything it will ever write.
            final = store.read_stream(workflow_id, key, offset, limit)
            if final.value is None:
                return (STREAM_CLOSED_TEXT,)
            return (final.value, *final.following)
        return None

    return env.waiters.wait_for(
        stream_key(workflow_id, key),
        check,
        clock=env.clock,
        deadline=deadline,
        poll_seconds=poll_seconds,
        interrupt=interrupt,
    )


# Values a reader outside workflow code fetches per read: a finished stream is read in
# a few round trips instead of one per value.
READ_BATCH = 500


def read_unrecorded(
    env: Env,
    workflow_id: str,
    key: str,
    offset: int,
    timeout_seconds: float | None,
    poll_seconds: float,
    interrupt: threading.Event | None = None,
) -> Generator[Any, None, None]:
    """Yield the stream's values from ``offset`` until it ends (outside workflow code).

    Raises ``DBOSStreamTimeoutError`` if a value takes longer than ``timeout_seconds``,
    ``DBOSNonExistentWorkflowError`` if the workflow does not exist, and
    ``DBOSWorkflowCancelledError`` once ``interrupt`` (a reading step's workflow was
    cancelled) is set.
    """
    clock = env.clock
    while True:
        deadline = None if timeout_seconds is None else clock.now() + timeout_seconds
        texts = wait_stream_texts(
            env,
            workflow_id,
            key,
            offset,
            deadline=deadline,
            poll_seconds=poll_seconds,
            interrupt=interrupt,
            limit=READ_BATCH,
        )
        if texts is None:
            if interrupt is not None and interrupt.is_set():
                frame = current_frame()
                reader = frame.workflow.workflow_id if frame is not None else workflow_id
                raise DBOSWorkflowCancelledError(
                    f"Workflow {reader} is cancelled. Aborting read_stream."
                )
            raise DBOSStreamTimeoutError(workflow_id, key, timeout_seconds)
        for text in texts:
            if text == STREAM_CLOSED_TEXT:
                return
            yield env.serializer.deserialize(text)
            offset += 1


def replay_read(
    state: WorkflowState, function_id: int, checkpoint: Checkpoint, _: ReadStream
) -> Any:
    """Return the recorded value (or the end marker), or raise the recorded error."""
    if checkpoint.error is not None:
        return replay_outcome(state, function_id, checkpoint, None)  # raises it
    if checkpoint.output is None:
        return STREAM_END
    return state.env.serializer.deserialize(checkpoint.output)


def execute_read_stream(state: WorkflowState, function_id: int, effect: ReadStream) -> Any:
    """Wait for the value at the offset (or the end) and record what was delivered.

    Produces the value or :data:`STREAM_END`. A timeout or a missing workflow is recorded
    as the error it raises (``DBOSStreamTimeoutError``, ``DBOSNonExistentWorkflowError``),
    so a replay raises it again.
    """
    env = state.env
    clock = env.clock
    started = now_ms(clock)
    deadline = None if effect.timeout_seconds is None else clock.now() + effect.timeout_seconds
    if state.deadline is not None:
        deadline = state.deadline if deadline is None else min(deadline, state.deadline)
    poll = effect.polling_interval_sec or env.poll_seconds
    error: Exception | None = None
    text: str | None = None
    try:
        text = wait_stream_text(
            env,
            effect.workflow_id,
            effect.key,
            effect.offset,
            deadline=deadline,
            poll_seconds=poll,
            interrupt=state.cancelled,
        )
    except DBOSNonExistentWorkflowError as exc:
        error = exc
    check_cancelled(state)  # cancelled (or past its own deadline): record nothing
    if text is None and error is None:
        error = DBOSStreamTimeoutError(effect.workflow_id, effect.key, effect.timeout_seconds)
    record(
        state,
        Checkpoint(
            function_id,
            effect.checkpoint_name,
            args_digest=digest_of(state, function_id),
            # The end is recorded as no output (a value always has text), so the step
            # list shows None rather than a marker the app serializer cannot read.
            output=None if text == STREAM_CLOSED_TEXT else text,
            error=None if error is None else serialize_error(env.serializer, error),
            started_at_epoch_ms=started,
            completed_at_epoch_ms=now_ms(clock),
        ),
    )
    if error is not None:
        raise error
    assert text is not None
    return decode(env.serializer, text)


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    WriteStream: Performer(execute_write_stream),
    CloseStream: Performer(execute_close_stream),
    ReadStream: Performer(execute_read_stream, replay_read),
}
