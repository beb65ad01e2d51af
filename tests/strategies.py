"""The one home of the Hypothesis strategies the property tests share (DESIGN.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from hypothesis import strategies as st

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
