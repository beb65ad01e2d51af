"""The debouncer's store work, as a plain function of a store: the ``Debouncer`` of an
application and a client's ``DebouncerClient`` share it.

A debounce of key K of workflow W is one DELAYED, ``is_debounced`` row holding the
deduplication id ``<W>-<K>`` on its queue. A call while that row waits pushes its start
back (``Store.bounce_debounced``: to now + period, never past the row's deadline, now +
``debounce_timeout_sec`` at the first call) and replaces its inputs: a burst of calls
runs W once, with the last arguments. Once the row leaves DELAYED it gives the key back,
so the next call starts a new workflow.
"""

from __future__ import annotations

import attrs

from transact._core.status import WorkflowStatusString as S
from transact._store.protocol import Store
from transact._store.records import WorkflowQuery, WorkflowRecord
from transact.errors import DBOSException, DBOSQueueDeduplicatedError

__all__ = ["debounce_key", "debounce_row"]

_TRIES = 10
"""Rounds of bounce-or-insert before giving up (each lost round means the held row
left DELAYED between the two statements)."""


def debounce_key(workflow_name: str, key: str) -> str:
    """The deduplication id of key ``key`` of workflow ``workflow_name``."""
    return f"{workflow_name}-{key}"


def debounce_row(
    store: Store,
    record: WorkflowRecord,
    *,
    period_ms: int,
    timeout_ms: int | None,
    now_ms: int,
) -> tuple[str, bool]:
    """Debounce with ``record`` (a workflow row with its inputs, name, queue and
    deduplication id set): push back the waiting row holding its key, or insert
    ``record`` as that row. Return the id of the workflow that will run, and whether
    ``record`` was inserted.

    Raises ``DBOSQueueDeduplicatedError`` if the key is held by a workflow that is not a
    debounce of this workflow (or no longer waits and has not given the key back).
    """
    assert record.queue_name is not None and record.deduplication_id is not None
    until = now_ms + period_ms
    deadline = None if timeout_ms is None else now_ms + timeout_ms
    waiting = attrs.evolve(
        record,
        status=S.DELAYED.value,
        delay_until_epoch_ms=until if deadline is None else min(until, deadline),
        is_debounced=True,
        debounce_deadline_epoch_ms=deadline,
        recovery_attempts=0,
    )
    inputs = record.inputs or ""
    for _ in range(_TRIES):
        held = store.bounce_debounced(
            record.name,
            record.queue_name,
            record.deduplication_id,
            delay_until_epoch_ms=until,
            inputs=inputs,
            now_ms=now_ms,
        )
        if held is not None:
            return held, False
        try:
            stored, created = store.insert_workflow(waiting)
        except DBOSQueueDeduplicatedError:
            if not _held_by_a_debounce(store, record):
                raise
            continue  # the holder still waits: bounce it
        return stored.workflow_id, created
    raise DBOSException(f"could not debounce {record.deduplication_id!r}: the key kept moving")


def _held_by_a_debounce(store: Store, record: WorkflowRecord) -> bool:
    rows = store.list_workflows(
        WorkflowQuery(
            queue_names=(record.queue_name or "",),
            statuses=(S.DELAYED.value,),
            names=(record.name,),
            load_input=False,
            load_output=False,
        )
    )
    return any(r.deduplication_id == record.deduplication_id and r.is_debounced for r in rows)
