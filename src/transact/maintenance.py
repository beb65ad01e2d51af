"""Maintenance of the system database of the launched ``DBOS``: garbage collection and
the global timeout (DBOS's admin ``/dbos-garbage-collect`` and ``/dbos-global-timeout``).

::

    from transact.maintenance import garbage_collect, global_timeout

    garbage_collect(rows_threshold=100_000)            # keep the newest 100,000 workflows
    global_timeout(int(time.time() * 1000) - 86_400_000)  # cancel what runs for over a day
"""

from __future__ import annotations

from transact._facade.admin import maintenance
from transact._facade.launched import runtime

__all__ = ["garbage_collect", "global_timeout"]


def garbage_collect(
    cutoff_epoch_timestamp_ms: int | None = None,
    rows_threshold: int | None = None,
    *,
    batch_size: int = maintenance.DEFAULT_GC_BATCH,
) -> int:
    """Delete finished workflows (SUCCESS, ERROR, CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED)
    with their steps, events, messages and streams, keeping active ones.

    Deletes those created before ``cutoff_epoch_timestamp_ms``, or, with
    ``rows_threshold``, before the ``rows_threshold``-th newest workflow (the later of
    the two cutoffs wins). Works in batches of ``batch_size``, one transaction each.
    Returns how many workflows were deleted. Raises ``DBOSException`` before launch.
    """
    return maintenance.garbage_collect(
        runtime().store, cutoff_epoch_timestamp_ms, rows_threshold, batch_size=batch_size
    )


def global_timeout(cutoff_epoch_timestamp_ms: int) -> list[str]:
    """Cancel every workflow still PENDING, ENQUEUED or DELAYED that was created at or
    before ``cutoff_epoch_timestamp_ms``; return their ids. Running ones stop at their
    next operation, as with ``DBOS.cancel_workflow``."""
    rt = runtime()
    workflow_ids = maintenance.timed_out_workflows(rt.store, cutoff_epoch_timestamp_ms)
    if workflow_ids:
        rt.cancel(workflow_ids)
    return workflow_ids
