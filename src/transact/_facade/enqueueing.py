"""Putting a workflow on a queue by the queue's name: ``Queue.enqueue`` and
``DBOS.enqueue_workflow`` share it, and so does ``enqueue_workflow_with_options``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from transact._core.queue_policy import QueueEntry, validate_entry
from transact._core.status import WorkflowStatusString as S
from transact._facade.context import ambient_enqueue_options, take_start_options
from transact._facade.decorators import child_start
from transact._facade.handles import WorkflowHandle
from transact._facade.launched import not_a_workflow, runtime
from transact._runtime.classes import split_target
from transact._runtime.enqueue_rows import enqueue
from transact._runtime.interpreter import perform
from transact._runtime.options import StartOptions
from transact._runtime.registry import WorkflowSpec, spec_of
from transact._runtime.state import current_frame
from transact._store.records import WorkflowQuery
from transact.errors import DBOSException, DBOSQueueDeduplicatedError

__all__ = ["enqueue_on", "enqueue_spec", "holder_of"]

_RETRIES = 5
"""Tries of a ``return-existing`` enqueue whose holder finishes meanwhile."""


def enqueue_on(
    queue_name: str,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    partitioned: bool | None,
) -> WorkflowHandle[Any]:
    """Enqueue workflow ``func`` on ``queue_name`` with the ambient options (see
    ``Queue.enqueue``); ``partitioned`` None skips the partition-key checks."""
    spec = spec_of(func)
    if spec is None:
        raise not_a_workflow(func)
    spec, args = split_target(spec, func, args)  # a method's bound target, if any
    ambient = ambient_enqueue_options()
    entry = QueueEntry(
        queue_name=queue_name,
        deduplication_id=ambient.deduplication_id,
        priority=ambient.priority or 0,
        partition_key=ambient.queue_partition_key,
        app_version=ambient.app_version,
        delay_seconds=ambient.delay_seconds,
    )
    return enqueue_spec(
        spec,
        args,
        kwargs,
        entry,
        partitioned=partitioned,
        return_existing=ambient.duplication_policy == "return-existing",
    )


def enqueue_spec(
    spec: WorkflowSpec,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    entry: QueueEntry,
    *,
    partitioned: bool | None,
    return_existing: bool = False,
    options: StartOptions | None = None,
) -> WorkflowHandle[Any]:
    """Enqueue ``spec`` (a child start, checkpointed, inside a workflow). With
    ``return_existing``, a held deduplication id returns a handle to its holder."""
    frame = current_frame()
    if frame is not None and frame.step_id is not None:
        raise DBOSException(f"cannot enqueue workflow {spec.name} from inside a step")
    entry = validate_entry(entry, partitioned=partitioned)
    if options is None:
        options = take_start_options(queued=True)
    rt = runtime()
    if frame is not None:
        effect = child_start(spec, args, kwargs, options, run_inline=False)
        return WorkflowHandle(perform(frame.workflow, attrs.evolve(effect, enqueue=entry)))
    for _ in range(_RETRIES):
        try:
            return WorkflowHandle(enqueue(rt, spec, args, kwargs, options=options, entry=entry))
        except DBOSQueueDeduplicatedError:
            if not return_existing or entry.deduplication_id is None:
                raise
            holder = holder_of(entry.queue_name, entry.deduplication_id)
            if holder is not None:
                return WorkflowHandle(holder)
    raise DBOSException(
        f"could not enqueue on {entry.queue_name!r} nor find the holder of deduplication "
        f"id {entry.deduplication_id!r}"
    )


def holder_of(queue_name: str, deduplication_id: str) -> str | None:
    """The id of the live workflow holding ``deduplication_id`` on the queue, if any."""
    rows = runtime().store.list_workflows(
        WorkflowQuery(
            queue_names=(queue_name,),
            statuses=(S.ENQUEUED.value, S.DELAYED.value, S.PENDING.value),
            load_input=False,
            load_output=False,
        )
    )
    return next((r.workflow_id for r in rows if r.deduplication_id == deduplication_id), None)
