"""DBOS 3's enqueueing API on ``DBOS``: enqueueing by name (``enqueue_workflow``,
``enqueue_workflow_with_options`` with ``EnqueueOptions``) and moving a delayed
workflow's due time (``set_workflow_delay``); each with its ``_async`` twin. The queues
themselves (kept in the database, listened to) are ``api_queues``'s concern."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypedDict, TypeVar, overload

import attrs
from typing_extensions import NotRequired, ParamSpec

from transact._core.queue_policy import MAX_PRIORITY, QueueEntry, validate_entry
from transact._facade.context import (
    ambient_enqueue_options,
    check_duplication_policy,
    check_reuse_policy,
    take_start_options,
)
from transact._facade.decorators import as_step
from transact._facade.enqueueing import enqueue_on, enqueue_spec, holder_of
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.launched import runtime
from transact._facade.types import DuplicationPolicy
from transact._runtime.announcer import announce
from transact._runtime.clock import now_ms
from transact._runtime.enqueue_rows import enqueued_record
from transact._runtime.registry import REGISTRY, WorkflowSpec
from transact._runtime.rows import check_reuse
from transact._runtime.state import current_frame
from transact.errors import DBOSException, DBOSQueueDeduplicatedError

__all__ = [
    "DuplicationPolicy",
    "EnqueueOptions",
    "WorkflowIDReusePolicy",
    "check_delay",
    "check_enqueue_options",
    "due_time",
    "enqueue_workflow",
    "enqueue_workflow_async",
    "enqueue_workflow_with_options",
    "enqueue_workflow_with_options_async",
    "set_workflow_delay",
    "set_workflow_delay_async",
]

P = ParamSpec("P")
R = TypeVar("R")

WorkflowIDReusePolicy = Literal["return-existing", "reject"]
"""What a start does with an id already used: attach to that workflow, or raise
``DBOSWorkflowIDInUseError``."""


class EnqueueOptions(TypedDict):
    """How ``DBOS.enqueue_workflow_with_options`` enqueues a workflow, by name (the
    function need not be registered in this process)."""

    workflow_name: str
    queue_name: str
    workflow_id: NotRequired[str]
    app_version: NotRequired[str]
    workflow_timeout: NotRequired[float]
    delay_seconds: NotRequired[float]
    deduplication_id: NotRequired[str]
    duplication_policy: NotRequired[DuplicationPolicy]
    workflow_id_reuse_policy: NotRequired[WorkflowIDReusePolicy]
    priority: NotRequired[int]
    max_recovery_attempts: NotRequired[int]
    queue_partition_key: NotRequired[str]
    authenticated_user: NotRequired[str]
    authenticated_roles: NotRequired[list[str]]
    # Used by ``DBOSClient.enqueue`` (DBOS's keys; ``otel_context`` is accepted unused).
    serialization_type: NotRequired[str | None]
    class_name: NotRequired[str]
    instance_name: NotRequired[str]
    attributes: NotRequired[dict[str, Any]]
    application_name: NotRequired[str]
    otel_context: NotRequired[dict[str, str]]


# --- enqueueing by name ---------------------------------------------------------------


@overload
def enqueue_workflow(
    queue_name: str,
    func: Callable[P, Coroutine[Any, Any, R]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> WorkflowHandle[R]: ...


@overload
def enqueue_workflow(
    queue_name: str, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> WorkflowHandle[R]: ...


def enqueue_workflow(
    queue_name: str, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
) -> WorkflowHandle[Any]:
    """Enqueue workflow ``func`` on the queue called ``queue_name`` (declared in code or
    kept in the database; not checked here), as ``Queue.enqueue`` does."""
    return enqueue_on(queue_name, func, args, kwargs, partitioned=None)


async def enqueue_workflow_async(
    queue_name: str, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
) -> WorkflowHandleAsync[Any]:
    """``enqueue_workflow`` without blocking the event loop."""
    handle = await asyncio.to_thread(lambda: enqueue_workflow(queue_name, func, *args, **kwargs))
    return WorkflowHandleAsync(handle)


def check_enqueue_options(options: EnqueueOptions) -> None:
    """Raise ``DBOSException`` (DBOS's messages) for an invalid priority, workflow id,
    duplication or reuse policy in ``options`` (the ``DBOS`` and client paths both)."""
    priority = options.get("priority")
    if priority is not None and not (isinstance(priority, int) and 1 <= priority <= MAX_PRIORITY):
        raise DBOSException(f"Invalid priority {priority}. Priority must be between 1~2147483647.")
    workflow_id = options.get("workflow_id")
    if workflow_id is not None and (not isinstance(workflow_id, str) or not workflow_id.strip()):
        raise DBOSException(
            f"Invalid workflow ID {workflow_id!r}: workflow IDs must be non-empty and cannot "
            "be only whitespace."
        )
    check_duplication_policy(options.get("duplication_policy"))
    check_reuse_policy(options.get("workflow_id_reuse_policy"))


def enqueue_workflow_with_options(
    options: EnqueueOptions, *args: Any, **kwargs: Any
) -> WorkflowHandle[Any]:
    """Enqueue the workflow named ``options["workflow_name"]`` on
    ``options["queue_name"]`` with ``args`` and ``kwargs``; the function need not be
    registered in this process. Unset options come from the ambient context managers.
    Without ``app_version`` the row has none, so any executor may run it.

    Raises ``DBOSException`` for an invalid priority, workflow id or duplication policy,
    or a deduplication id together with a partition key.
    """
    check_enqueue_options(options)
    workflow_id = options.get("workflow_id")
    ambient = ambient_enqueue_options()
    entry = QueueEntry(
        queue_name=options["queue_name"],
        deduplication_id=options.get("deduplication_id", ambient.deduplication_id),
        priority=options.get("priority", ambient.priority) or 0,
        partition_key=options.get("queue_partition_key", ambient.queue_partition_key),
        app_version=options.get("app_version", ambient.app_version),
        delay_seconds=options.get("delay_seconds", ambient.delay_seconds),
    )
    if entry.deduplication_id is not None and entry.partition_key is not None:
        raise DBOSException("Deduplication is not supported for partitioned queues")
    policy = options.get("duplication_policy", ambient.duplication_policy)
    name = options["workflow_name"]
    spec = REGISTRY.workflow(name) or WorkflowSpec(name=name, func=_unregistered)
    start = take_start_options(queued=True)
    timeout = options.get("workflow_timeout")
    start = attrs.evolve(
        start,
        workflow_id=workflow_id or start.workflow_id,
        timeout_seconds=timeout if timeout is not None else start.timeout_seconds,
        inherit_deadline=start.inherit_deadline and timeout is None,
        authenticated_user=options.get("authenticated_user", start.authenticated_user),
        reuse_policy=options.get("workflow_id_reuse_policy", start.reuse_policy),
        authenticated_roles=(
            tuple(options["authenticated_roles"])
            if "authenticated_roles" in options
            else start.authenticated_roles
        ),
    )
    if current_frame() is not None:  # a checkpointed child start, as Queue.enqueue
        return enqueue_spec(spec, args, kwargs, entry, partitioned=None, options=start)
    return _enqueue_unversioned(spec, args, kwargs, entry, start, policy == "return-existing")


async def enqueue_workflow_with_options_async(
    options: EnqueueOptions, *args: Any, **kwargs: Any
) -> WorkflowHandleAsync[Any]:
    """``enqueue_workflow_with_options`` without blocking the event loop."""
    handle = await asyncio.to_thread(
        lambda: enqueue_workflow_with_options(options, *args, **kwargs)
    )
    return WorkflowHandleAsync(handle)


def _unregistered(*args: Any, **kwargs: Any) -> Any:
    raise DBOSException("this workflow is not registered in this process")


def _enqueue_unversioned(
    spec: WorkflowSpec,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    entry: QueueEntry,
    start: Any,
    return_existing: bool,
) -> WorkflowHandle[Any]:
    entry = validate_entry(entry, partitioned=None)
    rt = runtime()
    workflow_id = start.workflow_id or str(uuid.uuid4())
    record = rt.new_record(spec, workflow_id, args, kwargs, options=start)
    record = enqueued_record(record, entry, timed=start.timeout_seconds is not None)
    record = attrs.evolve(record, application_version=entry.app_version)
    try:
        stored, created = rt.insert(record, fresh_id=start.workflow_id is None)
    except DBOSQueueDeduplicatedError:
        holder = holder_of(entry.queue_name, entry.deduplication_id or "")
        if not return_existing or holder is None:
            raise
        return WorkflowHandle(holder)
    check_reuse(stored, created, start.reuse_policy)
    if created:
        announce(rt, entry.queue_name)
    return WorkflowHandle(workflow_id)


# --- delays ----------------------------------------------------------------------------


def check_delay(delay_seconds: float | None, delay_until_epoch_ms: int | None) -> None:
    """``DBOSException`` (DBOS's messages) unless exactly one of the two is given."""
    if delay_seconds is not None and delay_until_epoch_ms is not None:
        raise DBOSException("Specify either delay_seconds or delay_until_epoch_ms, not both")
    if delay_seconds is None and delay_until_epoch_ms is None:
        raise DBOSException("Must specify either delay_seconds or delay_until_epoch_ms")


def due_time(now: int, delay_seconds: float | None, delay_until_epoch_ms: int | None) -> int:
    """The due time (epoch ms) a checked delay names (``DBOSException`` if negative)."""
    if delay_seconds is not None:
        if not (delay_seconds >= 0 and math.isfinite(delay_seconds)):
            raise DBOSException("delay_seconds must be >= 0")
        return now + round(delay_seconds * 1000)
    assert delay_until_epoch_ms is not None
    if delay_until_epoch_ms < 0:
        raise DBOSException("delay_until_epoch_ms must be >= 0")
    return delay_until_epoch_ms


def set_workflow_delay(
    workflow_id: str,
    *,
    delay_seconds: float | None = None,
    delay_until_epoch_ms: int | None = None,
) -> None:
    """Change when a DELAYED workflow becomes ENQUEUED: ``delay_seconds`` from now, or
    at ``delay_until_epoch_ms``. Other workflows are left alone.

    Raises ``DBOSException`` unless exactly one of them is given, or if it is negative.
    """
    check_delay(delay_seconds, delay_until_epoch_ms)
    rt = runtime()
    now = now_ms(rt.clock)
    until = due_time(now, delay_seconds, delay_until_epoch_ms)

    def move() -> None:
        if rt.store.update_delayed(
            workflow_id, delay_until_epoch_ms=until, inputs=None, now_ms=now
        ):
            row = rt.store.get_workflow(workflow_id, load_input=False, load_output=False)
            if row is not None and row.queue_name is not None:
                announce(rt, row.queue_name)  # an earlier due time: runners look again

    as_step("DBOS.setWorkflowDelay", move)


async def set_workflow_delay_async(
    workflow_id: str,
    *,
    delay_seconds: float | None = None,
    delay_until_epoch_ms: int | None = None,
) -> None:
    """``set_workflow_delay`` without blocking the event loop."""
    await asyncio.to_thread(
        lambda: set_workflow_delay(
            workflow_id, delay_seconds=delay_seconds, delay_until_epoch_ms=delay_until_epoch_ms
        )
    )
