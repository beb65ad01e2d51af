"""Enqueueing: a root workflow's row written on a queue, for a runner to claim.

``enqueue`` writes the row (or attaches to an existing one with the same id) and wakes
the queue's runners: this process's at once, the others' through the announcer
(``announcer.py``). Nothing runs in the enqueuing thread.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from transact._core.queue_policy import QueueEntry
from transact._core.status import WorkflowStatusString as S
from transact._runtime.announcer import announce
from transact._runtime.options import StartOptions
from transact._runtime.registry import WorkflowSpec
from transact._runtime.rows import check_reuse
from transact._runtime.services import Services
from transact._store.records import WorkflowRecord

__all__ = ["enqueue", "enqueued_record"]


def enqueued_record(record: WorkflowRecord, entry: QueueEntry, *, timed: bool) -> WorkflowRecord:
    """``record`` (a direct start's row) as a row waiting on ``entry``'s queue.

    ENQUEUED, or DELAYED until now + ``entry.delay_seconds``; it is dequeued, not
    recovered, so it starts with no recovery attempt. A row with its own timeout
    (``timed``) gets its deadline when dequeued; one that inherited a parent's deadline
    keeps it.
    """
    delay_until: int | None = None
    if entry.delay_seconds is not None and entry.delay_seconds > 0:
        delay_until = record.created_at + round(entry.delay_seconds * 1000)
    return attrs.evolve(
        record,
        status=(S.ENQUEUED if delay_until is None else S.DELAYED).value,
        queue_name=entry.queue_name,
        deduplication_id=entry.deduplication_id,
        priority=entry.priority,
        queue_partition_key=entry.partition_key,
        application_version=entry.app_version or record.application_version,
        delay_until_epoch_ms=delay_until,
        recovery_attempts=0,
        workflow_deadline_epoch_ms=None if timed else record.workflow_deadline_epoch_ms,
    )


def enqueue(
    runtime: Services,
    spec: WorkflowSpec,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    options: StartOptions,
    entry: QueueEntry,
) -> str:
    """Write a root workflow's row on ``entry``'s queue (or attach to an existing row
    with the same id); return its id. Nothing runs in this thread: the queue runner of
    whichever process claims it does. Raises ``DBOSQueueDeduplicatedError`` if the
    deduplication id is held."""
    workflow_id = options.workflow_id or str(uuid.uuid4())
    record = runtime.new_record(spec, workflow_id, args, kwargs, options=options)
    record = enqueued_record(record, entry, timed=options.timeout_seconds is not None)
    stored, created = runtime.insert(record, fresh_id=options.workflow_id is None)
    check_reuse(stored, created, options.reuse_policy)
    if created:
        announce(runtime, entry.queue_name)
    return workflow_id
