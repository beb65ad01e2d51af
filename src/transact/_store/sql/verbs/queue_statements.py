"""The statements of a queue claim (see ``verbs/queues.py`` for the transaction).

Each is built once per shape, so SQLAlchemy compiles it once per dialect:

- ``RELEASE``: SQLite releases the scope's due DELAYED rows before it claims;
- ``COUNTS``: the PENDING rows and rate-window dequeues a shared limit needs, through
  indexes that keep them proportional to the rows in flight, not the queue's history;
- ``CLAIM``: the claim itself. On Postgres one statement: the candidates are the
  ENQUEUED and the due DELAYED rows, read in dequeue order from
  ``idx_workflow_status_waiting`` and locked ``FOR UPDATE SKIP LOCKED`` in a
  materialized CTE; a second CTE releases the due rows it did not pick, and the
  ``UPDATE ... RETURNING`` claims the picked ones. On SQLite an UPDATE of the ENQUEUED
  candidates, looked up by key;
- ``CLAIMED_AT``: the rows one claim took, to settle a claim whose commit was in doubt;
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Text,
    and_,
    any_,
    bindparam,
    case,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
    update,
)

from transact._core.status import StatusEvent
from transact._store.sql.schema.status_indexes import QUEUE_WAITING
from transact._store.sql.schema.tables import workflow_status
from transact._store.sql.verbs.workflows import lit, status_in

__all__ = [
    "CLAIM",
    "CLAIMED_AT",
    "COLUMNS",
    "COUNTS",
    "RELEASE",
    "claim_rows",
]

ws = workflow_status
_c = ws.c


def _p(name: str, type_: Any = Text) -> Any:
    return bindparam(name, type_=type_)


_NOW = _p("now", BigInteger)


def _scope(partitioned: bool) -> list[ColumnElement[bool]]:
    where = [_c.queue_name == _p("queue")]
    if partitioned:
        where.append(_c.queue_partition_key == _p("partition"))
    return where


def _due() -> ColumnElement[bool]:
    due: ColumnElement[bool] = func.coalesce(_c.delay_until_epoch_ms, 0) <= _NOW
    return due


def _releasable(partitioned: bool) -> list[ColumnElement[bool]]:
    return [*_scope(partitioned), _c.status == lit("DELAYED"), _due()]


# A debounced workflow gives its key back when its delay ends: the next debounce of that
# key starts a new workflow (DBOS's debouncer).
_DEBOUNCE_KEY = case((_c.is_debounced.is_(true()), null()), else_=_c.deduplication_id)
_RELEASE_VALUES: dict[str, Any] = {
    "status": lit("ENQUEUED"),
    "updated_at": _NOW,
    "deduplication_id": _DEBOUNCE_KEY,
}


def _release(partitioned: bool) -> Any:
    """Release the scope's due DELAYED rows (SQLite before its claim; Postgres when no
    claim runs). The rows are found as two range reads of ``idx_workflow_status_delayed``
    (due by time, and undated): with ``COALESCE(delay, 0) <= now`` in one WHERE, SQLite
    read every row of the queue through the listing index instead (10 ms a claim with
    100,000 rows enqueued)."""
    delayed = [*_scope(partitioned), _c.status == lit("DELAYED")]
    due = select(_c.workflow_uuid).where(*delayed, _c.delay_until_epoch_ms <= _NOW)
    undated = select(_c.workflow_uuid).where(*delayed, _c.delay_until_epoch_ms.is_(None))
    return update(ws).where(_c.workflow_uuid.in_(union_all(due, undated))).values(**_RELEASE_VALUES)


RELEASE = {p: _release(p) for p in (False, True)}

_WAITING = [lit("ENQUEUED"), lit("DELAYED")]


def _pending_count(partitioned: bool) -> Any:
    return (
        select(func.count())
        .where(*_scope(partitioned), _c.status == lit("PENDING"))
        .scalar_subquery()
    )


def _recent_count(partitioned: bool, scope: str = "queue") -> Any:
    # Not waiting = dequeued at least once; cancelled rows lost their start time and
    # drop out, as in the memory model.
    since = _p("psince" if scope == "partition" else "since", BigInteger)
    return (
        select(func.count())
        .where(*_scope(partitioned), _c.started_at_epoch_ms > since, _c.status.notin_(_WAITING))
        .scalar_subquery()
    )


def _partition_recent(partitioned: bool) -> Any:
    return _recent_count(partitioned, "partition")


# The counts a claim needs: (queue PENDING, queue dequeues in its rate window, the same
# two in the partition), each only when a limit needs it.
# Without a partition key, the partition scope is the whole queue (a legacy partitioned
# queue claimed whole).
COUNTS = {
    (needs, keyed): select(
        *(
            (count(partitioned) if needed else literal(0))
            for needed, count, partitioned in zip(
                needs,
                (_pending_count, _recent_count, _pending_count, _partition_recent),
                (False, False, keyed, keyed),
                strict=True,
            )
        )
    )
    for needs in itertools.product((False, True), repeat=4)
    for keyed in (False, True)
}

_CLAIM_VALUES: dict[str, Any] = {
    "status": lit("PENDING"),
    "deduplication_id": _DEBOUNCE_KEY,
    "recovery_attempts": _c.recovery_attempts + 1,
    "executor_id": _p("executor"),
    "started_at_epoch_ms": _NOW,
    "updated_at": _NOW,
    "application_version": func.coalesce(func.nullif(_c.application_version, ""), _p("version")),
    "workflow_deadline_epoch_ms": case(
        (
            and_(_c.workflow_timeout_ms.isnot(None), _c.workflow_deadline_epoch_ms.is_(None)),
            _NOW + _c.workflow_timeout_ms,
        ),
        else_=_c.workflow_deadline_epoch_ms,
    ),
}


def _claim_statement(dialect: str, partitioned: bool, versions: str, limited: bool) -> Any:
    postgres = dialect == "postgresql"
    # Postgres claims due DELAYED rows in the same statement (releasing them and claiming
    # them at once); SQLite has released them already.
    startable = (
        or_(_c.status == lit("ENQUEUED"), and_(_c.status == lit("DELAYED"), _due()))
        if postgres
        else _c.status == lit("ENQUEUED")
    )
    # QUEUE_WAITING repeats the index's predicate, so both databases use the index.
    candidates = select(_c.workflow_uuid).where(*_scope(partitioned), QUEUE_WAITING, startable)
    # versions: "any" row; this version's rows "with" unversioned ones; or "own" only
    # (an executor that is not on the latest version leaves unversioned rows alone).
    if versions == "with":
        candidates = candidates.where(
            or_(
                _c.application_version.is_(None),
                _c.application_version == "",
                _c.application_version == _p("version"),
            )
        )
    elif versions == "own":
        candidates = candidates.where(_c.application_version == _p("version"))
    candidates = candidates.order_by(_c.priority, _c.created_at, _c.workflow_uuid)
    if limited:
        candidates = candidates.limit(_p("limit", BigInteger))
    if not postgres:
        return claim_rows(dialect, select(candidates.cte("claimable").c.workflow_uuid), partitioned)
    # SKIP LOCKED: claimers without a shared limit take disjoint rows. MATERIALIZED: the
    # selection runs once, so the UPDATE claims exactly the rows it locked.
    cte = candidates.with_for_update(skip_locked=True).cte("claimable").prefix_with("MATERIALIZED")
    return claim_rows(dialect, select(cte.c.workflow_uuid), partitioned)


def claim_rows(dialect: str, picked: Any, partitioned: bool) -> Any:
    """The UPDATE claiming the rows whose ids ``picked`` selects (on Postgres, already
    locked by it), returning every column; on Postgres it also releases the scope's due
    DELAYED rows it did not pick."""
    if dialect != "postgresql":
        # The status guard is ``keyed`` (``IS TRUE``): written plainly, the planner walked
        # every ENQUEUED row of the status index to find the few claimed (10 ms a claim
        # with 100,000 enqueued) instead of looking each up by its key.
        guard = status_in(StatusEvent.DEQUEUE)
        return (
            update(ws)
            .where(_c.workflow_uuid.in_(picked), guard)
            .values(**_CLAIM_VALUES)
            .returning(*ws.c)
        )
    # The due rows not picked become ENQUEUED, except those another claimer has locked (it
    # claims or releases them): waiting for its lock could deadlock two claimers that each
    # picked a row the other would release.
    unpicked = (
        select(_c.workflow_uuid)
        .where(*_releasable(partitioned), _c.workflow_uuid.notin_(picked))
        .with_for_update(skip_locked=True)
    )
    released = (
        update(ws).where(_c.workflow_uuid.in_(unpicked)).values(**_RELEASE_VALUES).cte("released")
    )
    # The picked rows are looked up by key (``= ANY(ARRAY(...))``), with no status guard:
    # the CTE holds their locks, so they are still waiting. With ``IN (picked)`` and the
    # guard, and statistics taken before a large enqueue (the planner expecting one
    # waiting row), Postgres walked every waiting row of the queue through the
    # guard's partial index: 150 ms a claim with 100,000 enqueued, instead of 1 ms.
    by_key = _c.workflow_uuid == any_(func.array(picked.scalar_subquery()))
    return update(ws).add_cte(released).where(by_key).values(**_CLAIM_VALUES).returning(*ws.c)


COLUMNS = tuple(column.name for column in ws.c)

# The rows one claim took (a claim whose commit was in doubt is settled by reading them,
# not run again, which could take more than its limit): the claim stamps them with its
# executor and its ``now``.
CLAIMED_AT = select(*ws.c).where(
    _c.queue_name == _p("queue"),
    _c.status == lit("PENDING"),
    _c.executor_id == _p("executor"),
    _c.started_at_epoch_ms == _NOW,
)
"""The claim's RETURNING columns, in order."""

CLAIM = {
    (d, p, v, limited): _claim_statement(d, p, v, limited)
    for d in ("postgresql", "sqlite")
    for p in (False, True)
    for v in ("any", "with", "own")
    for limited in (False, True)
}
