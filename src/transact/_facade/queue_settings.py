"""The settings of a queue as DBOS 3 names them, validated into a ``QueueRecord`` (the
row of a queue kept in the database, or the declaration of one in code), read back and
changed (``Queue.set_*``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import attrs

from transact._core.queue_policy import validate_limits
from transact._facade.launched import runtime
from transact._runtime.queue_definitions import refresh_all
from transact._store.protocol import Store
from transact._store.records import QueueRecord
from transact.errors import DBOSException

__all__ = ["SETTINGS", "changed_record", "limiter_of", "make_record", "stored_row"]

SETTINGS = (
    "concurrency",
    "global_concurrency",
    "worker_concurrency",
    "limiter",
    "partition_concurrency",
    "partition_worker_concurrency",
    "partition_limiter",
    "priority_enabled",
    "partition_queue",
    "polling_interval_sec",
)
"""A queue's settings: read as attributes, changed with ``set_<name>``."""


def make_record(
    name: str,
    *,
    concurrency: int | None = None,
    global_concurrency: int | None = None,
    worker_concurrency: int | None = None,
    limiter: Mapping[str, float] | None = None,
    partition_concurrency: int | None = None,
    partition_worker_concurrency: int | None = None,
    partition_limiter: Mapping[str, float] | None = None,
    priority_enabled: bool = False,
    partition_queue: bool = False,
    polling_interval_sec: float = 1.0,
    now_ms: int = 0,
) -> QueueRecord:
    """The queue row of these settings; ``ValueError`` (DBOS's messages) if invalid."""
    limits = validate_limits(
        concurrency=concurrency,
        global_concurrency=global_concurrency,
        worker_concurrency=worker_concurrency,
        limiter=limiter,
        partition_queue=partition_queue,
        polling_interval_sec=polling_interval_sec,
        partition_concurrency=partition_concurrency,
        partition_worker_concurrency=partition_worker_concurrency,
        partition_limiter=partition_limiter,
    )
    rate, p_rate = limits.rate_limit, limits.partition_rate_limit
    return QueueRecord(
        name=name,
        concurrency=limits.concurrency,
        worker_concurrency=worker_concurrency,
        rate_limit_max=None if rate is None else rate.limit,
        rate_limit_period_sec=None if limiter is None else float(limiter["period"]),
        priority_enabled=bool(priority_enabled),
        partition_queue=bool(partition_queue),
        polling_interval_sec=float(polling_interval_sec),
        created_at=now_ms,
        updated_at=now_ms,
        partition_concurrency=partition_concurrency,
        partition_worker_concurrency=partition_worker_concurrency,
        partition_rate_limit_max=None if p_rate is None else p_rate.limit,
        partition_rate_limit_period_sec=(
            None if partition_limiter is None else float(partition_limiter["period"])
        ),
    )


def limiter_of(limit: int | None, period: float | None) -> dict[str, float] | None:
    """A stored rate limit as DBOS's ``{"limit": n, "period": seconds}`` (or None)."""
    if limit is None or period is None:
        return None
    return {"limit": limit, "period": period}


def settings_of(record: QueueRecord) -> dict[str, Any]:
    """The ``make_record`` keywords that rebuild ``record``."""
    return {
        "concurrency": record.concurrency,
        "worker_concurrency": record.worker_concurrency,
        "limiter": limiter_of(record.rate_limit_max, record.rate_limit_period_sec),
        "partition_concurrency": record.partition_concurrency,
        "partition_worker_concurrency": record.partition_worker_concurrency,
        "partition_limiter": limiter_of(
            record.partition_rate_limit_max, record.partition_rate_limit_period_sec
        ),
        "priority_enabled": record.priority_enabled,
        "partition_queue": record.partition_queue,
        "polling_interval_sec": record.polling_interval_sec,
    }


def stored_row(name: str, store: Store | None = None) -> QueueRecord:
    """The current row of a queue kept in the database (``DBOSException`` if deleted),
    read from ``store`` (a client's) or the launched runtime's."""
    row = (store or runtime().store).get_queue(name)
    if row is None:
        raise DBOSException(f"Queue {name} not found in the database")
    return row


def changed_record(name: str, setting: str, value: Any, store: Store | None = None) -> QueueRecord:
    """Write one setting of a stored queue, validated against its other settings, in
    ``store`` (a client's) or the launched runtime's; every process serving it applies
    the change at its next read of the table (this one now)."""
    current = stored_row(name, store)
    options = settings_of(current)
    options["concurrency" if setting == "global_concurrency" else setting] = value
    new = make_record(name, **options)
    changes = {
        f.name: getattr(new, f.name)
        for f in attrs.fields(QueueRecord)
        if f.name not in ("name", "created_at", "updated_at")
        and getattr(new, f.name) != getattr(current, f.name)
    }
    row = (store or runtime().store).update_queue(name, changes, int(time.time() * 1000))
    if row is None:
        raise DBOSException(f"Queue {name} not found in the database")
    if store is None:
        refresh_all()
    return row
