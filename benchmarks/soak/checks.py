"""The soak's checks, over what the database holds once the soak is over.

:func:`collect` reads it; :func:`violations` judges it, with no database, so a test can
show each check failing on a doctored :class:`Observed`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from transact import DefaultSerializer

__all__ = ["Observed", "collect", "violations"]


@dataclass
class Observed:
    """What the soak saw."""

    count: int
    concurrency: int
    workers: int
    rows: dict[str, tuple[str, Any, str | None]] = field(default_factory=dict)
    """workflow id -> (status, decoded output, executor id)."""
    expected: dict[str, Any] = field(default_factory=dict)
    reruns_after_commit: int = 0
    """Step runs that started after that step's checkpoint was recorded."""
    transactions: Counter[str] = field(default_factory=Counter)
    """workflow id -> committed transaction rows."""
    max_pending: int = 0
    """The most PENDING rows of the queue seen at once (sampled during the soak)."""


def collect(url: str, observed: Observed) -> Observed:
    """Fill ``observed`` from the soak database at ``url``."""
    serializer = DefaultSerializer()
    with psycopg.connect(url, autocommit=True) as conn:
        for wf, status, output, executor in conn.execute(
            "SELECT workflow_uuid, status, output, executor_id FROM transact.workflow_status"
            " WHERE workflow_uuid LIKE 'soak-%'"
        ):
            value = serializer.deserialize(output) if output is not None else None
            observed.rows[wf] = (status, value, executor)
        row = conn.execute(
            "SELECT count(*) FROM soak_step_runs r JOIN transact.operation_outputs o"
            " ON o.workflow_uuid = r.wf AND o.function_name LIKE '%%' || r.step"
            " WHERE r.started_ms > o.completed_at_epoch_ms"
        ).fetchone()
        observed.reruns_after_commit = int(row[0]) if row else 0
        for wf, n in conn.execute("SELECT wf, count(*) FROM soak_txn GROUP BY wf"):
            observed.transactions[wf] = int(n)
    return observed


def violations(observed: Observed) -> dict[str, int]:
    """Each check's number of violations (all zero: the soak passed)."""
    ids = list(observed.expected)
    lost = sum(1 for wf in ids if wf not in observed.rows)
    stuck = sum(1 for wf in ids if wf in observed.rows and observed.rows[wf][0] != "SUCCESS")
    wrong = sum(
        1
        for wf in ids
        if wf in observed.rows
        and observed.rows[wf][0] == "SUCCESS"
        and observed.rows[wf][1] != observed.expected[wf]
    )
    duplicated = sum(1 for n in observed.transactions.values() if n > 1)
    # A SUCCESS whose transaction never committed is as wrong as a duplicate.
    missing_txn = sum(
        1
        for wf in ids
        if wf in observed.rows
        and observed.rows[wf][0] == "SUCCESS"
        and observed.transactions[wf] == 0
    )
    per_worker = Counter(row[2] for row in observed.rows.values() if row[0] == "SUCCESS")
    # Each worker ran some of the work: at least a twentieth of an even share (a worker
    # killed every few seconds spends much of a short soak starting up again), and at
    # least one workflow; a worker locked out of the queue runs none.
    fair = max(1, len(ids) // (observed.workers * 20))
    starved = sum(1 for k in range(observed.workers) if per_worker[f"w{k}"] < fair)
    return {
        "lost": lost,
        "stuck": stuck,
        "wrong": wrong,
        "rerun_after_commit": observed.reruns_after_commit,
        "dup_txn": duplicated + missing_txn,
        "limit_exceeded": int(observed.max_pending > observed.concurrency),
        "starved_workers": starved,
    }
