"""The claim pacing policy (``_core/claim_pacing.py``) over any gap and claim size: the
gap stays within its bounds, and a faster stream of enqueues never waits longer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from transact._core.claim_pacing import (
    GATHER_THRESHOLD,
    MAX_CLAIM_GAP_SECONDS,
    MIN_CLAIM_GAP_SECONDS,
    next_claim_gap,
)

LEAST, MOST = MIN_CLAIM_GAP_SECONDS, MAX_CLAIM_GAP_SECONDS
gaps = st.floats(min_value=LEAST, max_value=MOST)


@given(gap=gaps, claimed=st.integers(min_value=0, max_value=10_000), gathers=st.booleans())
def test_the_gap_stays_within_its_bounds(gap: float, claimed: int, gathers: bool) -> None:
    assert LEAST <= next_claim_gap(gap, claimed, gathers=gathers) <= MOST


@given(gap=gaps, fewer=st.integers(min_value=1, max_value=500), more=st.integers(1, 500))
def test_more_rows_never_lengthen_the_gap(gap: float, fewer: int, more: int) -> None:
    """Above the threshold, a claim that found more rows saw a faster stream, which
    needs less time to gather the target."""
    low, high = sorted((fewer, more))
    if low >= GATHER_THRESHOLD:
        assert next_claim_gap(gap, high, gathers=True) <= next_claim_gap(gap, low, gathers=True)
