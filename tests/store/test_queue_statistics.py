"""A slow claim that filled its batch refreshes the table's statistics (Postgres):
when ``StaleStatistics`` runs ANALYZE, and that a failing ANALYZE changes nothing. That
the new statistics fix the claim's plan is in ``tests/test_query_plans.py``."""

from __future__ import annotations

import logging

import pytest

from transact._store.sql.verbs.queue_statistics import (
    EVERY_SECONDS,
    RETRY_SECONDS,
    SLOW_SECONDS,
    StaleStatistics,
)


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def watch(calls: list[float], clock: Clock, *, analyzes: bool = True) -> StaleStatistics:
    """A watch whose ANALYZE records the time of each call; ``analyzes``: what it says
    (False: it found too few changed rows to analyze)."""

    def analyze() -> bool:
        calls.append(clock.now)
        return analyzes

    return StaleStatistics(analyze, clock)


def settle(statistics: StaleStatistics) -> None:
    if statistics.thread is not None:
        statistics.thread.join(timeout=10)


def test_only_a_slow_claim_that_filled_its_batch_analyzes() -> None:
    clock, calls = Clock(), list[float]()
    statistics = watch(calls, clock)
    statistics.claimed(SLOW_SECONDS / 2, full=True)  # fast
    statistics.claimed(1.0, full=False)  # slow, but the queue ran dry: no backlog
    settle(statistics)
    assert calls == []
    statistics.claimed(SLOW_SECONDS, full=True)
    settle(statistics)
    assert calls == [500.0]


@pytest.mark.parametrize(
    ("analyzes", "interval"),
    [(True, EVERY_SECONDS), (False, RETRY_SECONDS)],
    ids=["analyzed: once a minute", "too few changes reported: again 5 s later"],
)
def test_the_next_analyze_waits_for_its_interval(analyzes: bool, interval: float) -> None:
    """At most one ANALYZE a minute; but the statistics views report a burst a second
    or so late, so a check that found too few changed rows does not hold the next one
    off for a minute."""
    clock, calls = Clock(), list[float]()
    statistics = watch(calls, clock, analyzes=analyzes)
    statistics.claimed(1.0, full=True)
    settle(statistics)
    clock.now += interval - 1
    statistics.claimed(1.0, full=True)
    settle(statistics)
    assert calls == [500.0]
    clock.now += 1
    statistics.claimed(1.0, full=True)
    settle(statistics)
    assert calls == [500.0, 500.0 + interval]


def test_a_failing_analyze_is_logged_and_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    def refuse() -> bool:
        raise PermissionError("must be owner of table workflow_status")

    statistics = StaleStatistics(refuse, Clock())
    with caplog.at_level(logging.DEBUG, logger="dbos"):
        statistics.claimed(1.0, full=True)
        settle(statistics)
    assert "ANALYZE after a slow queue claim failed" in caplog.text
