"""Generator-style workflows, typed end to end.

A workflow written as a generator yields effects and gets their results back; with
``yield from`` mypy infers every result's type::

    from transact import DBOS, fx

    @DBOS.workflow()
    def checkout(order: Order) -> fx.Program[Receipt]:
        charged = yield from fx.step(charge, order)     # charged: Charge
        yield from fx.sleep(5)
        return (yield from fx.step(ship, order, charged))

The same ``@DBOS.workflow()`` runs both styles on the same interpreter; a generator
workflow is a value you can also test without any store by checking the effects it
yields (see :func:`transact.testing.run_program`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

from typing_extensions import ParamSpec

from transact._core.effects import (
    Effect,
    GetResult,
    ReadStream,
    SendMessage,
    Sleep,
)
from transact._facade.api_events import get_all_events_effect, get_event_effect, set_event_effect
from transact._facade.api_messages import recv_effect, send_bulk_effect, send_effect
from transact._facade.api_streams import close_stream_effect, write_stream_effect
from transact._facade.arguments import check_key, check_offset, check_timeout, check_workflow_id
from transact._facade.context import take_start_options
from transact._facade.decorators import child_start, step_spec_of
from transact._facade.handles import WorkflowHandle
from transact._runtime.classes import split_target
from transact._runtime.handlers import streams as _streams
from transact._runtime.registry import WorkflowSpec, spec_of
from transact._serialization import WorkflowSerializationFormat
from transact.errors import DBOSException

P = ParamSpec("P")
R = TypeVar("R")

Program = Generator[Effect[Any], Any, R]
"""The type of a generator workflow that returns ``R``."""

__all__ = [
    "STREAM_END",
    "Program",
    "call",
    "close_stream",
    "get_all_events",
    "get_event",
    "get_result",
    "read_stream",
    "read_stream_value",
    "recv",
    "send",
    "send_bulk",
    "set_event",
    "sleep",
    "start",
    "step",
    "write_stream",
]


def step(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Program[R]:
    """Run ``func`` as a checkpointed step (a ``@DBOS.step`` keeps its name and retries)."""
    spec = step_spec_of(func)
    result: R = yield spec.effect(args, kwargs)
    return result


def sleep(seconds: float) -> Program[None]:
    """Sleep durably; ``seconds <= 0`` does nothing and records nothing."""
    if seconds > 0:
        yield Sleep(float(seconds))


def _workflow_spec(func: Callable[..., Any]) -> WorkflowSpec:
    # A method bound to its target (``obj.workflow``) has the method's spec; the target
    # is bound by ``split_target``.
    spec = spec_of(func)
    if spec is None:
        raise DBOSException(f"{getattr(func, '__qualname__', func)!r} is not a workflow")
    return spec


def start(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Program[WorkflowHandle[R]]:
    """Start a child workflow in the background; produce its handle.

    Honours ``SetWorkflowID`` and ``SetWorkflowTimeout`` as ``DBOS.start_workflow`` does.
    """
    spec, call_args = split_target(_workflow_spec(func), func, args)
    options = take_start_options()
    child_id: str = yield child_start(spec, call_args, kwargs, options, run_inline=False)
    return WorkflowHandle(child_id)


def get_result(handle: WorkflowHandle[R]) -> Program[R]:
    """Wait for a workflow's result (recorded)."""
    result: R = yield GetResult(handle.workflow_id)
    return result


def call(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Program[R]:
    """Run a child workflow and wait for its result, as a direct call does (honouring
    ``SetWorkflowID`` and ``SetWorkflowTimeout``)."""
    spec, call_args = split_target(_workflow_spec(func), func, args)
    options = take_start_options()
    child_id: str = yield child_start(spec, call_args, kwargs, options, run_inline=True)
    result: R = yield GetResult(child_id)
    return result


# --- communication: messages, events, streams ----------------------------------------


def send(
    destination_id: str,
    message: Any,
    topic: str | None = None,
    *,
    serialization_type: WorkflowSerializationFormat | None = None,
) -> Program[None]:
    """Send ``message`` to workflow ``destination_id`` on ``topic`` (checkpointed with the
    message, so exactly once), in ``serialization_type``'s format if given. Raises
    ``DBOSNonExistentWorkflowError`` for an unknown destination and
    ``SerializationError`` for a message that cannot be stored."""
    yield send_effect(destination_id, message, topic, None, serialization_type=serialization_type)


def send_bulk(messages: Iterable[SendMessage]) -> Program[None]:
    """Send every message in one transaction with one ``DBOS.send_bulk`` checkpoint."""
    yield send_bulk_effect(messages)


def recv(topic: str | None = None, timeout_seconds: float = 60) -> Program[Any]:
    """Consume the oldest message on ``topic``, waiting up to ``timeout_seconds`` (a
    durable timeout); produce it, or None on timeout. Raises ``ValueError`` for a negative
    timeout."""
    message: Any = yield recv_effect(topic, timeout_seconds)
    return message


def set_event(
    key: str, value: Any, *, serialization_type: WorkflowSerializationFormat | None = None
) -> Program[None]:
    """Set this workflow's event ``key`` to ``value`` (in ``serialization_type``'s format
    if given). Raises ``ValueError`` for an empty key and ``SerializationError`` for a
    value that cannot be stored."""
    yield set_event_effect(key, value, serialization_type)


def get_event(workflow_id: str, key: str, timeout_seconds: float = 60) -> Program[Any]:
    """The latest value of event ``key`` of ``workflow_id``, waiting up to
    ``timeout_seconds`` (durably); None on timeout."""
    value: Any = yield get_event_effect(workflow_id, key, timeout_seconds)
    return value


def get_all_events(workflow_id: str) -> Program[dict[str, Any]]:
    """The latest value of every event of ``workflow_id`` (recorded as
    ``DBOS.get_events``)."""
    result: dict[str, Any] = yield get_all_events_effect(workflow_id)
    return result


def write_stream(key: str, value: Any) -> Program[None]:
    """Append ``value`` to this workflow's stream ``key``."""
    yield write_stream_effect(key, value)


def close_stream(key: str) -> Program[None]:
    """Close this workflow's stream ``key``: its readers stop after the last value."""
    yield close_stream_effect(key)


STREAM_END = _streams.STREAM_END
"""What :func:`read_stream_value` produces at the end of a stream (compare with ``is``)."""


def read_stream_value(
    workflow_id: str, key: str, offset: int = 0, *, timeout_seconds: float | None = None
) -> Program[Any]:
    """The value at ``offset`` of stream ``key`` of ``workflow_id``, waiting for it; or
    :data:`STREAM_END` if the stream was closed (or its workflow finished) before it.

    Recorded, so a replay produces the same. Raises ``DBOSStreamTimeoutError`` after
    ``timeout_seconds`` without a value, ``DBOSNonExistentWorkflowError`` if the workflow
    does not exist.
    """
    check_workflow_id(workflow_id)
    check_key(key, "the stream key")
    check_offset(offset)
    timeout = None if timeout_seconds is None else check_timeout(timeout_seconds, "timeout_seconds")
    item: Any = yield ReadStream(workflow_id, key, offset, timeout)
    return item


def read_stream(
    workflow_id: str, key: str, *, offset: int = 0, timeout_seconds: float | None = None
) -> Program[list[Any]]:
    """Every value of stream ``key`` of ``workflow_id`` from ``offset`` until it ends, as
    a list (each value recorded as it is delivered). Errors as :func:`read_stream_value`."""
    values: list[Any] = []
    while True:
        item = yield from read_stream_value(
            workflow_id, key, offset + len(values), timeout_seconds=timeout_seconds
        )
        if item is STREAM_END:
            return values
        values.append(item)
