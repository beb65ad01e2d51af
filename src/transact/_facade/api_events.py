"""Workflow events: ``DBOS.set_event``, ``get_event``, ``get_all_events`` and their twins.

Each operation has one validated constructor of its effect (shared with ``transact.fx``)
and one routing decision: performed in workflow code, run unrecorded (or refused)
elsewhere.
"""

from __future__ import annotations

from typing import Any

from transact._core.effects import (
    GetAllEvents,
    GetEvent,
    SetEvent,
)
from transact._facade.arguments import (
    check_key,
    check_timeout,
    check_workflow_id,
)
from transact._facade.launched import runtime
from transact._facade.routing import perform_or_else_async
from transact._runtime.handlers import events
from transact._runtime.interpreter import check_cancelled, perform
from transact._runtime.state import current_frame, current_workflow
from transact._serialization import WorkflowSerializationFormat, format_name
from transact.errors import DBOSException


def set_event_effect(
    key: str, value: Any, serialization_type: WorkflowSerializationFormat | None = None
) -> SetEvent:
    """The effect of ``DBOS.set_event`` (``ValueError`` for an empty key)."""
    return SetEvent(check_key(key, "the event key"), value, format_name(serialization_type))


def get_event_effect(workflow_id: str, key: str, timeout_seconds: float) -> GetEvent:
    """The effect of ``DBOS.get_event`` in workflow code (``ValueError`` for bad
    arguments)."""
    check_workflow_id(workflow_id)
    check_key(key, "the event key")
    return GetEvent(workflow_id, key, check_timeout(timeout_seconds, "timeout_seconds"))


def get_all_events_effect(workflow_id: str) -> GetAllEvents:
    """The effect of ``DBOS.get_all_events`` (``ValueError`` for a bad id)."""
    return GetAllEvents(check_workflow_id(workflow_id))


def set_event(
    key: str, value: Any, *, serialization_type: WorkflowSerializationFormat | None = None
) -> None:
    """Set this workflow's event ``key`` to ``value`` (readers see the latest value).

    Checkpointed in workflow code; inside a step it is written without a checkpoint
    (its history entry takes the step's function id). ``serialization_type`` stores
    the value as portable JSON or pickle (default: the workflow's own format).

    Raises ``DBOSException`` outside a workflow, ``ValueError`` for an empty key,
    ``SerializationError`` for a value that cannot be serialized.
    """
    effect = set_event_effect(key, value, serialization_type)
    frame = current_frame()
    if frame is None:
        raise DBOSException("set_event() must be called from within a workflow or step")
    if frame.step_id is None:
        perform(frame.workflow, effect)
        return
    workflow = frame.workflow
    events.set_event_unrecorded(
        workflow.env,
        workflow.workflow_id,
        frame.step_id,
        key,
        value,
        effect.serialization_type,
        workflow.serialization,
    )


def get_event(workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
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


def get_all_events(workflow_id: str) -> dict[str, Any]:
    """The latest value of every event of ``workflow_id`` (recorded as
    ``DBOS.get_events`` in workflow code). Empty for an unknown workflow."""
    effect = get_all_events_effect(workflow_id)
    state = current_workflow()
    if state is not None:
        values: dict[str, Any] = perform(state, effect)
        return values
    return events.get_all_events(runtime().env, workflow_id)


async def set_event_async(
    key: str, value: Any, *, serialization_type: WorkflowSerializationFormat | None = None
) -> None:
    """``DBOS.set_event`` without blocking the loop."""
    await perform_or_else_async(
        set_event_effect(key, value, serialization_type),
        lambda: set_event(key, value, serialization_type=serialization_type),
    )


async def get_event_async(workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
    """``DBOS.get_event`` without blocking the loop."""
    return await perform_or_else_async(
        get_event_effect(workflow_id, key, timeout_seconds),
        lambda: get_event(workflow_id, key, timeout_seconds),
    )


async def get_all_events_async(workflow_id: str) -> dict[str, Any]:
    """``DBOS.get_all_events`` without blocking the loop."""
    return await perform_or_else_async(
        get_all_events_effect(workflow_id), lambda: get_all_events(workflow_id)
    )
