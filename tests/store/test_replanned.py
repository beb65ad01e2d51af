"""A slow claim makes every connection plan the claim again (``verbs/replanned.py``).

What it fixes is a cached Postgres plan gone stale after a burst of enqueues (37 ms a
claim with 100,000 enqueued, ``make bench-scale``); that is a figure of the benchmark.
Here: when a new generation starts, and that claims under it still take the right rows,
alone and under a shared limit (the transaction path), on SQLite and Postgres.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, update

from tests.store.test_store_conformance import ENQUEUED, add, ids, wf
from transact._core.queue_policy import QueueLimits
from transact._store.factory import open_store
from transact._store.protocol import Store
from transact._store.sql.schema.tables import workflow_status
from transact._store.sql.verbs import queues, replanned
from transact._store.sql.verbs.queue_statements import CLAIM
from transact._store.sql.verbs.replanned import EVERY_SECONDS, GENERATIONS, Replanned

STATEMENTS = {"a": update(workflow_status).values(status="X")}
POSTGRES = create_engine("postgresql+psycopg://").dialect  # compiles only; never connects


class Clock:
    """``time.monotonic`` as the test sets it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def sql(statement: Any) -> str:
    return str(statement.compile(dialect=POSTGRES))


def test_a_slow_run_starts_a_generation_at_most_every_interval(clock: Clock) -> None:
    plans = Replanned(STATEMENTS, clock)
    assert plans["a"] is STATEMENTS["a"]
    plans.took(replanned.SLOW_SECONDS / 2)  # not slow
    assert plans.generation == 0
    plans.took(replanned.SLOW_SECONDS)
    assert plans.generation == 1
    assert "UPDATE /* plan 1 */ workflow_status" in sql(plans["a"])
    assert plans["a"] is plans["a"]  # one statement per generation: compiled once
    clock.now += EVERY_SECONDS / 2
    plans.took(1.0)  # too soon after the last one
    assert plans.generation == 1
    clock.now += EVERY_SECONDS / 2
    plans.took(1.0)
    assert plans.generation == 2
    assert "/* plan 2 */" in sql(plans["a"]) and "plan 1" not in sql(plans["a"])


def test_generations_cycle_without_coming_back_to_the_first_text(clock: Clock) -> None:
    plans = Replanned(STATEMENTS, clock)
    for _ in range(GENERATIONS):
        plans.took(1.0)
        clock.now += EVERY_SECONDS
    assert plans.generation == GENERATIONS
    plans.took(1.0)
    assert plans.generation == 1
    assert "/* plan 1 */" in sql(plans["a"])


@pytest.fixture
def sql_store(durable_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A SQL store whose claims run under generation 1 (a slow claim was seen)."""
    plans = Replanned(CLAIM)
    plans.took(1.0)
    monkeypatch.setattr(queues, "_CLAIMS", plans)
    store = open_store(durable_database_url)
    store.migrate()
    yield store
    store.close()


@pytest.mark.parametrize(
    "limits", [QueueLimits(), QueueLimits(concurrency=2)], ids=["alone", "shared limit"]
)
def test_claims_under_a_new_generation_take_the_right_rows(
    sql_store: Store, limits: QueueLimits
) -> None:
    assert queues._CLAIMS.generation == 1
    add(sql_store, *(wf(f"q{i}", ENQUEUED, queue_name="q", created_at=1000 + i) for i in range(4)))

    def claim() -> list[str]:
        return ids(
            sql_store.claim_queued(
                "q",
                executor_id="e",
                application_version=None,
                limits=limits,
                local_running=0,
                partition_key=None,
                max_claims=2,
                now_ms=5000,
            )
        )

    assert claim() == ["q0", "q1"]
    if limits.concurrency is None:
        assert claim() == ["q2", "q3"]
    else:
        assert claim() == []  # both slots of the queue are taken
    for workflow_id in ("q0", "q1"):
        claimed = sql_store.get_workflow(workflow_id)
        assert claimed is not None and claimed.status == "PENDING"
