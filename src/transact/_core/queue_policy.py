"""The queue policy: which enqueued workflows may start now, given the queue's limits.

Pure functions over plain values, so the rule is written once: the memory store applies
it directly, the SQL stores count the same things in SQL, ask :func:`budget` how many
may start, and take that many candidates in :func:`order_key` order (the state machine
checks they agree); a Hypothesis property checks no limit is ever exceeded.

The limits, each for the whole queue and (``partition_*``) for each partition key:

- ``concurrency``: at most this many PENDING workflows, across every process;
- ``worker_concurrency``: at most this many running in one process;
- ``rate_limit``: at most ``limit`` dequeues in any rolling window of ``period_ms``: a
  dequeue at ``t`` counts while ``now - period_ms < t`` (the window is half-open, so a
  set of dequeues spanning less than a period never holds more than ``limit``).

A queue with any ``partition_*`` limit is partitioned (each row has a partition key) and
both sets of limits hold at once. DBOS's legacy ``partitioned`` flag instead applies the
queue-wide fields per partition (:meth:`QueueLimits.scopes` says which applies where).

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
    "Scope",
    "admit",
    "budget",
    "in_rate_window",
    "local_counts",
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
class Scope:
    """The limits that apply in one scope: the whole queue, or one partition."""

    concurrency: int | None = None
    worker_concurrency: int | None = None
    rate_limit: RateLimit | None = None

    @property
    def shared(self) -> bool:
        """Whether it counts rows every process writes (a concurrency or a rate limit)."""
        return self.concurrency is not None or self.rate_limit is not None


@attrs.frozen
class QueueLimits:
    """A queue's flow control. ``partitioned`` (DBOS's legacy ``partition_queue``): the
    queue-wide fields apply per partition key instead; ``partition_*``: limits per
    partition key on top of the queue-wide ones."""

    concurrency: int | None = None
    worker_concurrency: int | None = None
    rate_limit: RateLimit | None = None
    partitioned: bool = False
    partition_concurrency: int | None = None
    partition_worker_concurrency: int | None = None
    partition_rate_limit: RateLimit | None = None

    @property
    def by_partition(self) -> bool:
        """Whether the queue's rows are claimed per partition key (and need one)."""
        return self.partitioned or any(
            v is not None
            for v in (
                self.partition_concurrency,
                self.partition_worker_concurrency,
                self.partition_rate_limit,
            )
        )

    def scopes(self) -> tuple[Scope, Scope]:
        """The limits of the whole queue and those of each partition."""
        queue_wide = Scope(self.concurrency, self.worker_concurrency, self.rate_limit)
        partition = Scope(
            self.partition_concurrency, self.partition_worker_concurrency, self.partition_rate_limit
        )
        return (Scope(), queue_wide) if self.partitioned else (queue_wide, partition)

    @property
    def shared(self) -> bool:
        """Whether claiming must count rows every process writes (a global concurrency or
        a rate limit, of the queue or a partition): such claims are serialized."""
        queue_wide, partition = self.scopes()
        return queue_wide.shared or partition.shared

    @property
    def worker_limited(self) -> bool:
        """Whether a per-process limit applies (of the queue or a partition)."""
        queue_wide, partition = self.scopes()
        return queue_wide.worker_concurrency is not None or partition.worker_concurrency is not None


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
    partition_pending: int = 0
    partition_local_running: int = 0
    partition_recent_dequeues: int = 0
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
    queue_wide, partition = limits.scopes()
    _room(room, queue_wide, counts.local_running, counts.pending, counts.recent_dequeues)
    if queue_wide.concurrency is not None and counts.workers > 1:
        # A fair share of the global limit per live worker (ceil: the slots all get used),
        # so the first poller does not take every free slot.
        share = -(-queue_wide.concurrency // counts.workers)
        room.append(share - counts.local_running)
    _room(
        room,
        partition,
        counts.partition_local_running,
        counts.partition_pending,
        counts.partition_recent_dequeues,
    )
    return max(0, min(room)) if room else None


def sweeps_heads(limits: QueueLimits) -> bool:
    """Whether one claim may take the first waiting row of every partition that runs
    nothing (``Store.claim_partition_heads``): each partition runs one workflow at a
    time, with no rate limit of its own, and nothing else is counted across processes
    (DBOS's batched partition sweep). A per-process limit of the queue still caps the
    claim; one of a partition is met by any claim of one row."""
    queue_wide, partition = limits.scopes()
    return (
        limits.by_partition
        and partition.concurrency == 1
        and partition.rate_limit is None
        and not queue_wide.shared
    )


def sweep_budget(limits: QueueLimits, local_running: int, max_claims: int) -> int:
    """How many partitions' first rows one sweep may claim (``sweeps_heads``): the
    partitions' own limits are the sweep's to keep, so only the whole queue's limit per
    process, less what this process runs, caps it (never negative)."""
    queue_wide, _ = limits.scopes()
    room = [max_claims]
    if queue_wide.worker_concurrency is not None:
        room.append(queue_wide.worker_concurrency - local_running)
    return max(0, min(room))


def _room(room: list[int], scope: Scope, local: int, pending: int, recent: int) -> None:
    if scope.worker_concurrency is not None:
        room.append(scope.worker_concurrency - local)
    if scope.concurrency is not None:
        room.append(scope.concurrency - pending)
    if scope.rate_limit is not None:
        room.append(scope.rate_limit.limit - recent)


def local_counts(local_running: int, partition_local_running: int | None) -> QueueCounts:
    """This process's running counts: of the queue, and of the partition being claimed
    from (the queue's, when no partition count is given: a queue claimed whole, or a
    legacy partitioned queue whose caller counts per partition)."""
    partition = local_running if partition_local_running is None else partition_local_running
    return QueueCounts(local_running=local_running, partition_local_running=partition)


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
    global_concurrency: int | None = None,
    partition_concurrency: int | None = None,
    partition_worker_concurrency: int | None = None,
    partition_limiter: Mapping[str, float] | None = None,
) -> QueueLimits:
    """The limits of a queue declared with these options; ``ValueError`` names a bad one,
    with DBOS's messages in DBOS's order.

    ``concurrency`` is the deprecated name of ``global_concurrency`` (set one of them);
    concurrencies are positive integers, a per-worker limit never above the global one and
    a partition's never above the queue's; a limiter is ``{"limit": n >= 1, "period":
    seconds > 0}``; the polling interval is positive. The legacy ``partition_queue``
    cannot be combined with ``global_concurrency`` or the ``partition_*`` limits.
    """
    if concurrency is not None and global_concurrency is not None:
        raise ValueError(
            "concurrency is deprecated in favor of global_concurrency; set only one of them"
        )
    partition_limits = (partition_concurrency, partition_worker_concurrency, partition_limiter)
    if partition_queue and any(v is not None for v in partition_limits):
        raise ValueError(
            "partition_queue is deprecated in favor of the partition_* limits; set only one of them"
        )
    if partition_queue and global_concurrency is not None:
        raise ValueError(
            "partition_queue applies every limit per partition, so it cannot be combined "
            "with global_concurrency; use partition_concurrency instead"
        )
    total = global_concurrency if global_concurrency is not None else concurrency
    label = "global_concurrency" if global_concurrency is not None else "concurrency"
    for name, value in (
        (label, total),
        ("worker_concurrency", worker_concurrency),
        ("partition_concurrency", partition_concurrency),
        ("partition_worker_concurrency", partition_worker_concurrency),
    ):
        if value is not None and (not _is_int(value) or value < 1):
            raise ValueError(f"{name} must be at least 1")
    pc, pwc = partition_concurrency, partition_worker_concurrency
    partition_rate = _rate(partition_limiter, "partition_limiter")
    for smaller, larger, message in (
        (
            pwc,
            pc,
            "partition_concurrency must be greater than or equal to partition_worker_concurrency",
        ),
        (
            pwc,
            worker_concurrency,
            "worker_concurrency must be greater than or equal to partition_worker_concurrency",
        ),
        (
            worker_concurrency,
            total,
            "concurrency must be greater than or equal to worker_concurrency",
        ),
        (pc, total, "global_concurrency must be greater than or equal to partition_concurrency"),
        (pwc, total, "concurrency must be greater than or equal to partition_worker_concurrency"),
    ):
        if smaller is not None and larger is not None and smaller > larger:
            raise ValueError(message)
    if not isinstance(polling_interval_sec, (int, float)) or not polling_interval_sec > 0:
        raise ValueError("polling_interval_sec must be positive")
    return QueueLimits(
        concurrency=total,
        worker_concurrency=worker_concurrency,
        rate_limit=_rate(limiter, "limiter"),
        partitioned=bool(partition_queue),
        partition_concurrency=pc,
        partition_worker_concurrency=pwc,
        partition_rate_limit=partition_rate,
    )


def _rate(limiter: Mapping[str, float] | None, name: str) -> RateLimit | None:
    if limiter is None:
        return None
    if not isinstance(limiter, Mapping) or not {"limit", "period"} <= set(limiter):
        raise ValueError(f"{name} must specify both 'limit' and 'period'")
    limit, period = limiter["limit"], limiter["period"]
    if not _is_int(limit) or limit < 1:
        raise ValueError(f"{name} limit must be a positive integer, got {limit!r}")
    if not isinstance(period, (int, float)) or not (period > 0 and math.isfinite(period)):
        raise ValueError(f"{name} period must be a positive number of seconds, got {period!r}")
    return RateLimit(limit=int(limit), period_ms=max(1, round(period * 1000)))


def validate_entry(entry: QueueEntry, *, partitioned: bool | None) -> QueueEntry:
    """``entry`` if it fits its queue; ``ValueError`` otherwise.

    The priority is 0 (unset) or in [1, 2**31 - 1]; a partitioned queue needs a
    partition key and any other queue refuses one (not checked when ``partitioned`` is
    None: a queue kept in the database, as in DBOS 3); a deduplication id cannot be
    combined with a partition key; a delay is a finite number of seconds, not negative.
    """
    if not _is_int(entry.priority) or not 0 <= entry.priority <= MAX_PRIORITY:
        raise ValueError(f"priority must be between 1 and {MAX_PRIORITY}, got {entry.priority!r}")
    if partitioned is True and entry.partition_key is None:
        raise ValueError(
            f"queue {entry.queue_name!r} is partitioned: set queue_partition_key with "
            "SetEnqueueOptions to enqueue on it"
        )
    if partitioned is False and entry.partition_key is not None:
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
