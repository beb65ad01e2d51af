"""The one home of the Hypothesis strategies the property tests share (DESIGN.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from hypothesis import strategies as st

from transact._core.queue_policy import QueueLimits, RateLimit
from transact._store.records import WorkflowQuery

# --- workflow programs: lists of (operation, value) a test workflow interprets --------

Op = tuple[str, int]

CRASH_OPERATIONS = ("step", "fail", "sleep", "child")

crash_programs: st.SearchStrategy[list[Op]] = st.lists(
    st.tuples(st.sampled_from(CRASH_OPERATIONS), st.integers(0, 1000)),
    min_size=1,
    max_size=8,
)
"""Programs for the crash/recovery property (``property_tests/crash_programs.py``)."""


def fork_programs(operations: Iterable[str]) -> st.SearchStrategy[list[Op]]:
    """Programs for the fork property. Small values, so event keys (``k0``, ``k1``) are
    set more than once and a fork must start from the right one of several values."""
    return st.lists(
        st.tuples(st.sampled_from(sorted(operations)), st.integers(0, 5)),
        min_size=1,
        max_size=7,
    )


# --- message interleavings -----------------------------------------------------------

Topic = str | None
Send = tuple[Literal["send"], Topic, Literal["outside", "keyed", "workflow"]]
Repeat = tuple[Literal["repeat"]]
Recv = tuple[Literal["recv"], Topic]
Restart = tuple[Literal["restart"]]
MessageOp = Send | Repeat | Recv | Restart

topics: st.SearchStrategy[Topic] = st.sampled_from([None, "a", "b"])

message_ops: st.SearchStrategy[MessageOp] = st.one_of(
    st.tuples(st.just("send"), topics, st.sampled_from(["outside", "keyed", "workflow"])),
    st.tuples(st.just("repeat")),
    st.tuples(st.just("recv"), topics),
    st.tuples(st.just("restart")),
)
"""Sends (from outside, with an idempotency key, from a workflow), a repeat of the last
keyed send, receives, and restarts of the runtime, in any order."""


# --- the store state machine (property_tests/test_store_state_machine.py) ---------

IDS = st.sampled_from(["a", "b", "c", "d"])
NAMES = st.sampled_from(["wf", "other"])
TOPICS = st.sampled_from([None, "t1", "t2"])
KEYS = st.sampled_from(["k1", "k2"])
VALUES = st.text(alphabet="xyz", min_size=0, max_size=3)
FIDS = st.integers(1, 5)
QUERIES = st.builds(
    WorkflowQuery,
    statuses=st.none()
    | st.tuples(st.sampled_from(["PENDING", "SUCCESS", "CANCELLED", "ENQUEUED"])),
    names=st.none() | st.just(("wf",)),
    parent_workflow_ids=st.none() | st.tuples(IDS),
    queues_only=st.booleans(),
    sort_desc=st.booleans(),
    limit=st.none() | st.integers(0, 3),
    offset=st.none() | st.integers(0, 2),
    attributes=st.none() | st.sampled_from(['{"t": 1}', '{"t": true}', '{"t": 1, "u": "x"}']),
)
# Attribute objects a workflow may carry (JSON text), overlapping QUERIES' filters.
ATTRIBUTES = st.none() | st.sampled_from(['{"t": 1}', '{"t": true, "u": "x"}', '{"u": "x"}'])

# Periods of a few ticks (7 ms each), so rows enter and leave the window.
_RATE = st.none() | st.builds(RateLimit, limit=st.integers(1, 3), period_ms=st.integers(5, 40))
QUEUE_LIMITS = st.builds(
    QueueLimits,
    concurrency=st.none() | st.integers(1, 3),
    worker_concurrency=st.none() | st.integers(1, 3),
    rate_limit=_RATE,
) | st.builds(
    QueueLimits,
    concurrency=st.none() | st.integers(1, 3),
    worker_concurrency=st.none() | st.integers(1, 3),
    rate_limit=_RATE,
    partitioned=st.booleans(),
    partition_concurrency=st.none() | st.integers(1, 2),
    partition_worker_concurrency=st.none() | st.integers(1, 2),
    partition_rate_limit=_RATE,
)
PARTITIONS = st.none() | st.sampled_from(["p1", "p2"])

# --- the queue policy property (property_tests/test_queue_policy_property.py) ------

_POLICY_RATE = st.none() | st.builds(RateLimit, st.integers(1, 4), st.integers(10, 200))
POLICY_LIMITS = st.builds(
    QueueLimits,
    concurrency=st.none() | st.integers(1, 4),
    worker_concurrency=st.none() | st.integers(1, 3),
    rate_limit=_POLICY_RATE,
    partitioned=st.booleans(),
) | st.builds(  # DBOS 3: partition limits on top of queue-wide ones
    QueueLimits,
    concurrency=st.none() | st.integers(1, 6),
    worker_concurrency=st.none() | st.integers(1, 4),
    rate_limit=_POLICY_RATE,
    partition_concurrency=st.none() | st.integers(1, 3),
    partition_worker_concurrency=st.none() | st.integers(1, 2),
    partition_rate_limit=_POLICY_RATE,
)
