"""Streams: ``DBOS.write_stream``, ``close_stream``, ``read_stream`` and their twins.

Each operation has one validated constructor of its effect (shared with ``transact.fx``)
and one routing decision: performed in workflow code, written unrecorded inside a step
(its history entry takes the step's function id), refused outside any workflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Any

from transact._core.effects import (
    CloseStream,
    ReadStream,
    WriteStream,
)
from transact._facade.arguments import (
    check_key,
    check_offset,
    check_polling_interval,
    check_timeout,
    check_workflow_id,
)
from transact._facade.launched import runtime
from transact._facade.routing import perform_or_else_async
from transact._runtime.async_driver import perform_async
from transact._runtime.handlers import streams
from transact._runtime.interpreter import perform
from transact._runtime.state import Frame, WorkflowState, current_frame, current_workflow
from transact.errors import DBOSException, DBOSStreamTimeoutError


def write_stream_effect(key: str, value: Any) -> WriteStream:
    """The effect of ``DBOS.write_stream`` (``ValueError`` for an empty key)."""
    return WriteStream(check_key(key, "the stream key"), value)


def close_stream_effect(key: str) -> CloseStream:
    """The effect of ``DBOS.close_stream`` (``ValueError`` for an empty key)."""
    return CloseStream(check_key(key, "the stream key"))


def write_stream(key: str, value: Any) -> None:
    """Append ``value`` to this workflow's stream ``key``.

    Checkpointed in workflow code; inside a step written without a checkpoint.
    Raises ``DBOSException`` outside a workflow, ``ValueError`` for an empty key (or
    the close marker itself as a value), ``SerializationError`` for a value that cannot
    be serialized.
    """
    effect = write_stream_effect(key, value)
    frame = _writer_frame("write_stream")
    if frame.step_id is None:
        perform(frame.workflow, effect)
        return
    wf = frame.workflow
    streams.write_unrecorded(wf.env, wf.workflow_id, frame.step_id, key, value)


def close_stream(key: str) -> None:
    """Close this workflow's stream ``key``: readers stop after its last value.

    Raises ``DBOSException`` outside a workflow, ``ValueError`` for an empty key.
    """
    effect = close_stream_effect(key)
    frame = _writer_frame("close_stream")
    if frame.step_id is None:
        perform(frame.workflow, effect)
        return
    wf = frame.workflow
    streams.write_unrecorded(wf.env, wf.workflow_id, frame.step_id, key, None, close=True)


def read_stream(
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
    timeout = None if timeout_seconds is None else check_timeout(timeout_seconds, "timeout_seconds")
    poll: float | None = None
    if polling_interval_sec is not None:
        poll = check_polling_interval(polling_interval_sec)
    frame = current_frame()
    if frame is not None and frame.step_id is None:
        return _recorded_reads(frame.workflow, workflow_id, key, offset, timeout, poll)
    interrupt = frame.workflow.cancelled if frame is not None else None
    env = runtime().env
    return streams.read_unrecorded(
        env, workflow_id, key, offset, timeout, poll or env.poll_seconds, interrupt
    )


def read_stream_offset(
    workflow_id: str,
    key: str,
    offset: int,
    *,
    polling_interval_sec: float | None = None,
    timeout_seconds: float | None = None,
) -> Any:
    """The value at ``offset`` of stream ``key`` of ``workflow_id``, waiting for it as
    ``read_stream`` waits for each value (checkpointed in workflow code).

    Raises what ``read_stream`` raises, and ``DBOSStreamTimeoutError`` also if the
    stream ends (closed, or its workflow finished) before ``offset``.
    """
    values = read_stream(
        workflow_id,
        key,
        offset=offset,
        polling_interval_sec=polling_interval_sec,
        timeout_seconds=timeout_seconds,
    )
    for value in values:
        values.close()  # an unrecorded reader stops; a recorded one reads no further
        return value
    raise DBOSStreamTimeoutError(workflow_id, key)


async def read_stream_offset_async(
    workflow_id: str,
    key: str,
    offset: int,
    *,
    polling_interval_sec: float | None = None,
    timeout_seconds: float | None = None,
) -> Any:
    """``DBOS.read_stream_offset`` without blocking the loop."""
    state = current_workflow()
    if state is None:
        return await asyncio.to_thread(
            lambda: read_stream_offset(
                workflow_id,
                key,
                offset,
                polling_interval_sec=polling_interval_sec,
                timeout_seconds=timeout_seconds,
            )
        )
    check_workflow_id(workflow_id)
    check_key(key, "the stream key")
    check_offset(offset)
    timeout = None if timeout_seconds is None else check_timeout(timeout_seconds, "timeout_seconds")
    poll = None
    if polling_interval_sec is not None:
        poll = check_polling_interval(polling_interval_sec)
    item = await perform_async(state, ReadStream(workflow_id, key, offset, timeout, poll))
    if item is streams.STREAM_END:
        raise DBOSStreamTimeoutError(workflow_id, key)
    return item


async def read_stream_async(
    workflow_id: str,
    key: str,
    *,
    offset: int = 0,
    polling_interval_sec: float | None = None,
    timeout_seconds: float | None = None,
) -> AsyncGenerator[Any, None]:
    """``DBOS.read_stream`` as an async generator: each value is awaited without
    blocking the loop (in workflow code each one is checkpointed, as in the sync form).

    Raises as ``read_stream`` does (bad arguments at the first iteration).
    """
    values = read_stream(
        workflow_id,
        key,
        offset=offset,
        polling_interval_sec=polling_interval_sec,
        timeout_seconds=timeout_seconds,
    )
    frame = current_frame()
    if frame is not None and frame.step_id is None:
        # Workflow code: each read is performed (checkpointed) on the loop.
        timeout = None if timeout_seconds is None else float(timeout_seconds)
        poll = None if polling_interval_sec is None else float(polling_interval_sec)
        while True:
            effect = ReadStream(workflow_id, key, offset, timeout, poll)
            item = await perform_async(frame.workflow, effect)
            if item is streams.STREAM_END:
                return
            yield item
            offset += 1
    done = object()
    while True:
        # Outside workflow code each wait runs in a worker thread.
        value = await asyncio.to_thread(next, values, done)
        if value is done:
            return
        yield value


async def write_stream_async(key: str, value: Any) -> None:
    """``DBOS.write_stream`` without blocking the loop."""
    await perform_or_else_async(write_stream_effect(key, value), lambda: write_stream(key, value))


async def close_stream_async(key: str) -> None:
    """``DBOS.close_stream`` without blocking the loop."""
    await perform_or_else_async(close_stream_effect(key), lambda: close_stream(key))


def _writer_frame(what: str) -> Frame:
    frame = current_frame()
    if frame is None:
        raise DBOSException(f"{what}() must be called from within a workflow or step")
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
