"""The queue policy: which enqueued workflows may start now, given the queue's limits.

Pure functions over plain values, so the rule is written once: the memory store applies
it directly, the SQL stores count the same things in SQL, ask :func:`budget` how many
may start, and take that many candidates in :func:`order_key` order (the state machine
checks they agree); a Hypothesis property checks no limit is ever exceeded.

The limits, per queue (or per partition key on a partitioned queue):

- ``concurrency``: at most this many PENDING workflows, across every process;
- ``worker_concurrency``: at most this many running in one process;
- ``rate_limit``: at most ``limit`` dequeues in any rolling window of ``period_ms``: a
  dequeue at ``t`` counts while ``now - period_ms < t`` (the window is half-open, so a
  set of dequeues spanning less than a period never holds more than ``limit``).

Candidates start in ``(priority, created_at, workflow_id)`` order: a lower priority
first (0, the default, before 1 .. 2**31 - 1), then first enqueued first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

import attrs

__all__ = [
    "MAX_PRIORITY",
    "Candidate",
    "QueueCounts",
    "QueueEntry",
    "QueueLimits",
    "RateLimit",
    "admit",
    "budget",
    "in_rate_window",
    "order_key",
    "validate_entry",
    "validate_limits",
]

MAX_PRIORITY = 2**31 - 1
"""The largest priority a workflow may be enqueued with (Postgres INT4)."""


@attrs.frozen
class RateLimit:
    """At most ``limit`` dequeues in any rolling window of ``period_ms`` milliseconds."""

    limit: int
    period_ms: int


@attrs.frozen
class QueueLimits:
    """A queue's flow control. ``partitioned``: every limit applies per partition key."""

    concurrency: int | None = None
    worker_concurrency: int | None = None
    rate_limit: RateLimit | None = None
    partitioned: bool = False

    @property
    def shared(self) -> bool:
        """Whether claiming must count rows every process writes (a global concurrency or
        a rate limit): such claims must be serialized across processes."""
        return self.concurrency is not None or self.rate_limit is not None


@attrs.frozen
class QueueCounts:
    """What the policy needs to know about a queue (or one partition) right now.

    ``pending``: its PENDING workflows in every process; ``local_running``: those this
    process runs; ``recent_dequeues``: dequeues inside the current rate window;
    ``workers``: the live processes (each takes at most its fair share of a global
    concurrency limit, so one fast poller cannot hold every slot).
    """

    pending: int = 0
    local_running: int = 0
    recent_dequeues: int = 0
    workers: int = 1
    """How many live workers share the queue's global concurrency limit."""


@attrs.frozen
class QueueEntry:
    """How a workflow is put on a queue: the queue and the ``SetEnqueueOptions`` values.

    ``delay_seconds`` is relative: the runtime turns it into an absolute time with its
    clock when the row is written (so a fake clock drives delays in tests).
    """

    queue_name: str
    deduplication_id: str | None = None
    priority: int = 0
    partition_key: str | None = None
    app_version: str | None = None
    delay_seconds: float | None = None


class Candidate(Protocol):
    """An ENQUEUED row as the policy sees it (``WorkflowRecord`` is one)."""

    @property
    def workflow_id(self) -> str: ...

    @property
    def priority(self) -> int: ...

    @property
    def created_at(self) -> int: ...


C = TypeVar("C", bound=Candidate)


def order_key(candidate: Candidate) -> tuple[int, int, str]:
    """The dequeue order: priority, then enqueue time, then id (a total order, so every
    store picks the same rows)."""
    return (candidate.priority, candidate.created_at, candidate.workflow_id)


def in_rate_window(started_at_ms: int | None, now_ms: int, limit: RateLimit) -> bool:
    """Whether a dequeue at ``started_at_ms`` still counts against ``limit`` at ``now_ms``."""
    return started_at_ms is not None and started_at_ms > now_ms - limit.period_ms


def budget(limits: QueueLimits, counts: QueueCounts, max_claims: int | None = None) -> int | None:
    """How many more workflows may start now (never negative); None means no limit."""
    room: list[int] = []
    if max_claims is not None:
        room.append(max_claims)
    if limits.worker_concurrency is not None:
        room.append(limits.worker_concurrency - counts.local_running)
    if limits.concurrency is not None:
        room.append(limits.concurrency - counts.pending)
        if counts.workers > 1:
            share = -(-limits.concurrency // counts.workers)  # ceil: the slots all get used
            room.append(share - counts.local_running)
    if limits.rate_limit is not None:
        room.append(limits.rate_limit.limit - counts.recent_dequeues)
    return max(0, min(room)) if room else None


def admit(
    limits: QueueLimits,
    counts: QueueCounts,
    candidates: Sequence[C],
    max_claims: int | None = None,
) -> list[C]:
    """The candidates that may start now, in start order: the first :func:`budget` of
    them by :func:`order_key`."""
    ordered = sorted(candidates, key=order_key)
    allowed = budget(limits, counts, max_claims)
    return ordered if allowed is None else ordered[:allowed]


def validate_limits(
    *,
    concurrency: int | None,
    worker_concurrency: int | None,
    limiter: Mapping[str, float] | None,
    partition_queue: bool,
    polling_interval_sec: float,
) -> QueueLimits:
    """The limits of a queue declared with these options; ``ValueError`` names a bad one.

    Concurrencies must be positive integers with ``worker_concurrency <= concurrency``; a
    limiter is ``{"limit": n >= 1, "period": seconds > 0}``; the polling interval must be
    positive.
    """
    for label, value in (("concurrency", concurrency), ("worker_concurrency", worker_concurrency)):
        if value is not None and (not _is_int(value) or value < 1):
            raise ValueError(f"{label} must be a positive integer or None, got {value!r}")
    if (
        concurrency is not None
        and worker_concurrency is not None
        and worker_concurrency > concurrency
    ):
        raise ValueError(
            f"worker_concurrency ({worker_concurrency}) must not exceed concurrency ({concurrency})"
        )
    if not isinstance(polling_interval_sec, (int, float)) or not polling_interval_sec > 0:
        raise ValueError(f"polling_interval_sec must be positive, got {polling_interval_sec!r}")
    rate: RateLimit | None = None
    if limiter is not None:
        if not isinstance(limiter, Mapping) or not {"limit", "period"} <= set(limiter):
            raise ValueError(
                f'limiter must be {{"limit": int, "period": seconds}}, got {limiter!r}'
            )
        limit, period = limiter["limit"], limiter["period"]
        if not _is_int(limit) or limit < 1:
            raise ValueError(f"limiter limit must be a positive integer, got {limit!r}")
        if not isinstance(period, (int, float)) or not (period > 0 and math.isfinite(period)):
            raise ValueError(f"limiter period must be a positive number of seconds, got {period!r}")
        rate = RateLimit(limit=int(limit), period_ms=max(1, round(period * 1000)))
    return QueueLimits(
        concurrency=concurrency,
        worker_concurrency=worker_concurrency,
        rate_limit=rate,
        partitioned=bool(partition_queue),
    )


def validate_entry(entry: QueueEntry, *, partitioned: bool) -> QueueEntry:
    """``entry`` if it fits its queue; ``ValueError`` otherwise.

    The priority is 0 (unset) or in [1, 2**31 - 1]; a partitioned queue needs a
    partition key and any other queue refuses one; a deduplication id cannot be combined
    with a partition key; a delay is a finite number of seconds, not negative.
    """
    if not _is_int(entry.priority) or not 0 <= entry.priority <= MAX_PRIORITY:
        raise ValueError(f"priority must be between 1 and {MAX_PRIORITY}, got {entry.priority!r}")
    if partitioned and entry.partition_key is None:
        raise ValueError(
            f"queue {entry.queue_name!r} is partitioned: set queue_partition_key with "
            "SetEnqueueOptions to enqueue on it"
        )
    if not partitioned and entry.partition_key is not None:
        raise ValueError(
            f"queue {entry.queue_name!r} is not partitioned: it takes no queue_partition_key"
        )
    if entry.partition_key is not None and entry.deduplication_id is not None:
        raise ValueError("a deduplication id cannot be combined with a queue partition key")
    delay = entry.delay_seconds
    if delay is not None and (
        not isinstance(delay, (int, float)) or not (delay >= 0 and math.isfinite(delay))
    ):
        raise ValueError(f"delay_seconds must be a finite number >= 0, got {delay!r}")
    return entry


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
