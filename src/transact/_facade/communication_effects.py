"""The validated constructors of the messages, events and streams effects.

The ``DBOS`` methods, their ``_async`` twins and ``transact.fx`` all build their effects
here, so an argument is checked the same way whichever surface is used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from transact._core.effects import (
    CloseStream,
    GetAllEvents,
    GetEvent,
    Recv,
    Send,
    SendBulk,
    SendMessage,
    SetEvent,
    WriteStream,
)
from transact.errors import DBOSException


def check_timeout(value: float, what: str) -> float:
    """``value`` as a float; ``ValueError`` if it is negative or not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{what} must be a number of seconds, got {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return float(value)


def check_key(key: str, what: str) -> str:
    """``key`` if it is a non-empty string; ``ValueError`` otherwise."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"{what} must be a non-empty string, got {key!r}")
    return key


def check_topic(topic: str | None) -> str | None:
    """``topic`` if it is None or a string; ``ValueError`` otherwise."""
    if topic is not None and not isinstance(topic, str):
        raise ValueError(f"topic must be a string or None, got {topic!r}")
    return topic


def check_workflow_id(workflow_id: str, what: str = "workflow_id") -> str:
    """``workflow_id`` if it is a non-empty string; ``ValueError`` otherwise."""
    return check_key(workflow_id, what)


# The effects of the calls, built from validated arguments: the DBOS methods, their
# async twins and fx all build their effects here.


def send_effect(
    destination_id: str, message: Any, topic: str | None, idempotency_key: str | None
) -> Send:
    """The effect of ``DBOS.send`` in workflow code (``ValueError`` for bad arguments)."""
    check_workflow_id(destination_id, "destination_id")
    check_topic(topic)
    if idempotency_key is not None:
        check_key(idempotency_key, "idempotency_key")
    return Send(destination_id, message, topic)


def send_bulk_effect(messages: Iterable[SendMessage]) -> SendBulk:
    """The effect of ``DBOS.send_bulk``: each message validated as ``DBOS.send`` does;
    ``DBOSException`` for idempotency keys given twice (before anything is written)."""
    batch = tuple(messages)
    for m in batch:
        send_effect(m.destination_id, m.message, m.topic, m.idempotency_key)
    keys = [m.idempotency_key for m in batch if m.idempotency_key is not None]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise DBOSException(f"send_bulk received duplicate idempotency keys: {', '.join(repeated)}")
    return SendBulk(batch)


def recv_effect(topic: str | None, timeout_seconds: float) -> Recv:
    """The effect of ``DBOS.recv`` (``ValueError`` for bad arguments)."""
    return Recv(check_topic(topic), check_timeout(timeout_seconds, "timeout_seconds"))


def get_event_effect(workflow_id: str, key: str, timeout_seconds: float) -> GetEvent:
    """The effect of ``DBOS.get_event`` in workflow code (``ValueError`` for bad
    arguments)."""
    check_workflow_id(workflow_id)
    check_key(key, "the event key")
    return GetEvent(workflow_id, key, check_timeout(timeout_seconds, "timeout_seconds"))


def set_event_effect(key: str, value: Any) -> SetEvent:
    """The effect of ``DBOS.set_event`` (``ValueError`` for an empty key)."""
    return SetEvent(check_key(key, "the event key"), value)


def get_all_events_effect(workflow_id: str) -> GetAllEvents:
    """The effect of ``DBOS.get_all_events`` (``ValueError`` for a bad id)."""
    return GetAllEvents(check_workflow_id(workflow_id))


def write_stream_effect(key: str, value: Any) -> WriteStream:
    """The effect of ``DBOS.write_stream`` (``ValueError`` for an empty key)."""
    return WriteStream(check_key(key, "the stream key"), value)


def close_stream_effect(key: str) -> CloseStream:
    """The effect of ``DBOS.close_stream`` (``ValueError`` for an empty key)."""
    return CloseStream(check_key(key, "the stream key"))


def check_offset(offset: int) -> int:
    """``offset`` if it is a non-negative int; ``ValueError`` otherwise."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a non-negative integer, got {offset!r}")
    return offset
