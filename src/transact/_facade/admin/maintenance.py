"""Garbage collection and the global timeout, over a store (DBOS's maintenance commands).

Both read their candidates with ordinary listings and act through the store's existing
verbs (``delete_workflows`` and ``cancel_workflows``), one batch per transaction, so a
crash midway leaves every workflow either whole or deleted (cancelled).
"""

from __future__ import annotations

from transact._core.query import WorkflowQuery
from transact._core.status import ACTIVE, TERMINAL
from transact._store.protocol import Store

DEFAULT_GC_BATCH = 10_000
_FINISHED = tuple(sorted(s.value for s in TERMINAL))
_ACTIVE = tuple(sorted(s.value for s in ACTIVE))


def gc_cutoff(store: Store, cutoff_epoch_ms: int | None, rows_threshold: int | None) -> int | None:
    """The effective cutoff: the later of ``cutoff_epoch_ms`` and the ``created_at`` of
    the ``rows_threshold``-th newest workflow (so at most that many are kept)."""
    candidates = [] if cutoff_epoch_ms is None else [cutoff_epoch_ms]
    if rows_threshold is not None:
        nth = store.list_workflows(
            WorkflowQuery(
                sort_desc=True,
                offset=rows_threshold - 1,
                limit=1,
                load_input=False,
                load_output=False,
            )
        )
        if nth:
            candidates.append(nth[0].created_at)
    return max(candidates) if candidates else None


def garbage_collect(
    store: Store,
    cutoff_epoch_ms: int | None,
    rows_threshold: int | None,
    *,
    batch_size: int = DEFAULT_GC_BATCH,
) -> int:
    """Delete every finished workflow (with its history) created before the effective
    cutoff (``gc_cutoff``); workflows still PENDING, ENQUEUED or DELAYED are kept.
    Returns how many were deleted. ``ValueError`` for a bad threshold or batch size."""
    if rows_threshold is not None and rows_threshold < 1:
        raise ValueError(f"rows_threshold must be at least 1, got {rows_threshold}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    cutoff = gc_cutoff(store, cutoff_epoch_ms, rows_threshold)
    if cutoff is None:
        return 0
    deleted = 0
    while True:
        batch = store.list_workflows(
            WorkflowQuery(
                statuses=_FINISHED,
                created_before=cutoff - 1,  # strictly older than the cutoff
                limit=batch_size,
                load_input=False,
                load_output=False,
            )
        )
        if not batch:
            return deleted
        store.delete_workflows([r.workflow_id for r in batch])
        deleted += len(batch)


def timed_out_workflows(store: Store, cutoff_epoch_ms: int) -> list[str]:
    """Ids of the workflows still PENDING, ENQUEUED or DELAYED that were created at or
    before ``cutoff_epoch_ms`` (what the global timeout cancels)."""
    rows = store.list_workflows(
        WorkflowQuery(
            statuses=_ACTIVE,
            created_before=cutoff_epoch_ms,
            load_input=False,
            load_output=False,
        )
    )
    return [r.workflow_id for r in rows]
