"""The claim pacing policy (``_core/claim_pacing.py``): how long a queue runner waits
before its next claim, given what the last one took."""

from __future__ import annotations

import pytest

from transact._core.claim_pacing import (
    GATHER_TARGET,
    GATHER_THRESHOLD,
    MAX_CLAIM_GAP_SECONDS,
    MIN_CLAIM_GAP_SECONDS,
    next_claim_gap,
)

LEAST, MOST = MIN_CLAIM_GAP_SECONDS, MAX_CLAIM_GAP_SECONDS


def test_empty_claims_double_the_gap_up_to_the_most() -> None:
    assert next_claim_gap(LEAST, 0, gathers=True) == 2 * LEAST
    assert next_claim_gap(MOST, 0, gathers=True) == MOST
    assert next_claim_gap(0.03, 0, gathers=False) == MOST


@pytest.mark.parametrize("claimed", range(1, GATHER_THRESHOLD))
def test_a_light_load_is_claimed_at_the_least_gap(claimed: int) -> None:
    assert next_claim_gap(MOST, claimed, gathers=True) == LEAST


def test_a_heavy_load_waits_to_gather_the_target() -> None:
    # Rows came at claimed/gap per second: the next gap gathers the target at that rate.
    claimed = GATHER_THRESHOLD + 1
    expected = LEAST * GATHER_TARGET / claimed
    assert next_claim_gap(LEAST, claimed, gathers=True) == pytest.approx(expected)
    assert next_claim_gap(LEAST, 1000, gathers=True) == LEAST
    assert next_claim_gap(LEAST, GATHER_THRESHOLD, gathers=True) > LEAST


def test_a_limited_queue_never_waits_to_gather() -> None:
    assert next_claim_gap(MOST, GATHER_TARGET * 10, gathers=False) == LEAST
    assert next_claim_gap(LEAST, GATHER_THRESHOLD, gathers=False) == LEAST
