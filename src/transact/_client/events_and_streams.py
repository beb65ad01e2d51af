"""``DBOSClient``'s reads of what a workflow publishes: its events (``get_event``,
``get_all_events``) and its streams (``read_stream``, ``read_stream_offset``), each with
its ``_async`` twin. Each is a function of the client (``self``), named in
``DBOSClient``'s class body; nothing is checkpointed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Any

from transact._client.connection import ClientBase
from transact._client.twins import twin
from transact._facade.api_events import get_event_effect
from transact._facade.arguments import check_key, check_offset, check_timeout, check_workflow_id
from transact._runtime.handlers import events, streams
from transact.errors import DBOSStreamTimeoutError


def get_event(self: ClientBase, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
    """The latest value of event ``key`` of ``workflow_id``, waiting up to
    ``timeout_seconds`` for it; None on timeout."""
    effect = get_event_effect(workflow_id, key, timeout_seconds)
    self._connection.listen()
    return events.get_event_unrecorded(
        self._connection.env, workflow_id, key, effect.timeout_seconds
    )


get_event_async = twin(get_event)


def get_all_events(self: ClientBase, workflow_id: str) -> dict[str, Any]:
    """The latest value of every event of ``workflow_id``."""
    return events.get_all_events(self._connection.env, check_workflow_id(workflow_id))


get_all_events_async = twin(get_all_events)


def read_stream(
    self: ClientBase,
    workflow_id: str,
    key: str,
    *,
    offset: int = 0,
    polling_interval_sec: float | None = None,
    timeout_seconds: float | None = None,
) -> Generator[Any, None, None]:
    """Yield the values of stream ``key`` of ``workflow_id`` from ``offset`` until it
    is closed or its workflow has finished."""
    check_workflow_id(workflow_id)
    check_key(key, "the stream key")
    check_offset(offset)
    timeout = None if timeout_seconds is None else check_timeout(timeout_seconds, "timeout_seconds")
    self._connection.listen()
    env = self._connection.env
    poll = env.poll_seconds if polling_interval_sec is None else polling_interval_sec
    return streams.read_unrecorded(env, workflow_id, key, offset, timeout, max(poll, 0.001))


async def read_stream_async(
    self: ClientBase,
    workflow_id: str,
    key: str,
    *,
    offset: int = 0,
    polling_interval_sec: float | None = None,
    timeout_seconds: float | None = None,
) -> AsyncGenerator[Any, None]:
    """``read_stream`` as an async iterator: each value is awaited off the loop."""
    values = read_stream(
        self,
        workflow_id,
        key,
        offset=offset,
        polling_interval_sec=polling_interval_sec,
        timeout_seconds=timeout_seconds,
    )
    end = object()
    while (value := await asyncio.to_thread(next, values, end)) is not end:
        yield value


def read_stream_offset(
    self: ClientBase,
    workflow_id: str,
    key: str,
    offset: int,
    *,
    polling_interval_sec: float | None = None,
    timeout_seconds: float | None = None,
) -> Any:
    """The value at ``offset`` of the stream, waiting for it; ``DBOSStreamTimeoutError``
    if the stream ends before it."""
    values = read_stream(
        self,
        workflow_id,
        key,
        offset=offset,
        polling_interval_sec=polling_interval_sec,
        timeout_seconds=timeout_seconds,
    )
    for value in values:
        values.close()
        return value
    raise DBOSStreamTimeoutError(workflow_id, key)


read_stream_offset_async = twin(read_stream_offset)
