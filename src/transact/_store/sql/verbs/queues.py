"""Queue verbs: claim what a queue's limits allow, in one transaction per batch.

``claim_queued`` runs, in one transaction:

1. on Postgres, when the queue has a limit shared by every process (a global
   concurrency or a rate limit), ``pg_advisory_xact_lock`` on the queue (or partition):
   claimers of that queue take turns, and under READ COMMITTED each statement after the
   lock sees every claim committed before it, so the counts are exact. (SQLite needs
   nothing: ``BEGIN IMMEDIATE`` already serializes every writer.) Queues without shared
   limits take no lock: concurrent claimers skip each other's rows (``SKIP LOCKED``);
2. count PENDING rows and rate-window dequeues (only the counts a limit needs, through
   indexes that keep them proportional to the rows in flight, not the queue's history);
3. ask the pure policy (``queue_policy.budget``) how many may start;
4. release the scope's due DELAYED rows and claim that many candidates in ``order_key``
   order. On Postgres this is one statement: the candidates are the ENQUEUED and the due
   DELAYED rows, read in dequeue order from ``idx_workflow_status_waiting`` and locked
   ``FOR UPDATE SKIP LOCKED`` in a materialized CTE; a second CTE releases the due rows
   it did not pick, and the ``UPDATE ... RETURNING`` claims the picked ones. A queue
   without shared limits thus claims a batch in one autocommit round trip. SQLite
   releases first, then claims, with two statements.
"""

from __future__ import annotations

import itertools
import zlib
from typing import Any

import attrs
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Text,
    and_,
    bindparam,
    case,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)

from transact._core.queue_policy import (
    QueueLimits,
    budget,
    local_counts,
    order_key,
)
from transact._core.status import StatusEvent
from transact._store.records import WorkflowRecord
from transact._store.sql.engine.backend import Backend, Mode
from transact._store.sql.schema.tables import QUEUE_WAITING, workflow_status
from transact._store.sql.verbs.workflows import lit, row_to_record, status_in

__all__ = ["QueueVerbs", "advisory_key"]

ws = workflow_status
_c = ws.c

QUEUE_LOCK_NAMESPACE = 0x7471  # "tq": the first key of the two-key advisory locks
WORKER_PRESENCE = (0x7477, 0)  # "tw": held shared by each live process's listener
"""The advisory lock each launched process's LISTEN session holds (shared) while it is
connected; counting its holders counts the live workers, whose fair share of a global
concurrency limit a claim takes (a killed process's session, and lock, go with it)."""

# How many sessions of this database hold the presence lock (Postgres).
_LIVE_WORKERS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    f" AND classid = {WORKER_PRESENCE[0]} AND objid = {WORKER_PRESENCE[1]} AND objsubid = 2"
)
"""Two-int4 advisory locks live apart from the single-bigint migration lock."""


def advisory_key(queue_name: str, partition_key: str | None) -> int:
    """The second advisory-lock key of a queue (or one partition): a stable int4."""
    text = queue_name if partition_key is None else f"{queue_name}\x00{partition_key}"
    unsigned = zlib.crc32(text.encode())
    return unsigned - 2**32 if unsigned >= 2**31 else unsigned


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


# Built once per shape, so SQLAlchemy compiles each once per dialect.
_RELEASE = {p: _release(p) for p in (False, True)}

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
_COUNTS = {
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

_PARTITIONS = (
    select(_c.queue_partition_key)
    .where(
        _c.queue_name == _p("queue"),
        _c.queue_partition_key.isnot(None),
        QUEUE_WAITING,
        or_(_c.status == lit("ENQUEUED"), and_(_c.status == lit("DELAYED"), _due())),
    )
    .distinct()
    .order_by(_c.queue_partition_key)
)

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
        cte = candidates.cte("claimable")
        # ``likely()`` hides the status guard from the planner, which otherwise walked
        # every ENQUEUED row of the status index to find the few claimed (10 ms a claim
        # with 100,000 enqueued) instead of looking each up by its key.
        guard = func.likely(status_in(StatusEvent.DEQUEUE), type_=Boolean)
        return (
            update(ws)
            .where(_c.workflow_uuid.in_(select(cte.c.workflow_uuid)), guard)
            .values(**_CLAIM_VALUES)
            .returning(*ws.c)
        )
    # SKIP LOCKED: claimers without a shared limit take disjoint rows. MATERIALIZED: the
    # selection runs once, so the UPDATE claims exactly the rows it locked.
    cte = candidates.with_for_update(skip_locked=True).cte("claimable").prefix_with("MATERIALIZED")
    picked = select(cte.c.workflow_uuid)
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
    return (
        update(ws)
        .add_cte(released)
        .where(_c.workflow_uuid.in_(picked), QUEUE_WAITING)
        .values(**_CLAIM_VALUES)
        .returning(*ws.c)
    )


_COLUMNS = tuple(column.name for column in ws.c)

# The rows one claim took (a claim whose commit was in doubt is settled by reading them,
# not run again, which could take more than its limit): the claim stamps them with its
# executor and its ``now``.
_CLAIMED_AT = select(*ws.c).where(
    _c.queue_name == _p("queue"),
    _c.status == lit("PENDING"),
    _c.executor_id == _p("executor"),
    _c.started_at_epoch_ms == _NOW,
)
"""The claim's RETURNING columns, in order."""

_CLAIM = {
    (d, p, v, limited): _claim_statement(d, p, v, limited)
    for d in ("postgresql", "sqlite")
    for p in (False, True)
    for v in ("any", "with", "own")
    for limited in (False, True)
}


class QueueVerbs:
    """The queue verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend

    def claim_queued(
        self,
        queue_name: str,
        *,
        executor_id: str,
        application_version: str | None,
        limits: QueueLimits,
        local_running: int,
        partition_key: str | None,
        max_claims: int | None,
        now_ms: int,
        partition_local_running: int | None = None,
        take_unversioned: bool = True,
    ) -> list[WorkflowRecord]:
        """Release due delayed rows, then claim what the policy admits (see ``Store``)."""
        local = local_counts(local_running, partition_local_running)
        # A worker with no room left need not touch the database at all.
        if budget(limits, local, max_claims) == 0:
            return []
        dialect = self._db.dialect_name
        versions = "any" if application_version is None else "with" if take_unversioned else "own"
        partitioned = partition_key is not None
        params: dict[str, Any] = {
            "queue": queue_name,
            "now": now_ms,
            "executor": executor_id,
            "version": application_version,
        }
        if partitioned:
            params["partition"] = partition_key
        queue_wide, partition = limits.scopes()
        if queue_wide.rate_limit is not None:
            params["since"] = now_ms - queue_wide.rate_limit.period_ms
        if partition.rate_limit is not None:
            params["psince"] = now_ms - partition.rate_limit.period_ms
        shared = queue_wide.shared or partition.shared

        postgres = dialect == "postgresql"
        if postgres and not shared:
            # One autocommit statement, run without SQLAlchemy's execution layer (which
            # cost more than the claim's round trip).
            allowed = budget(limits, local, max_claims)
            stmt = _CLAIM[(dialect, partitioned, versions, allowed is not None)]
            rows = self._db.execute_returning(
                stmt, {**params, "limit": allowed}, settle=lambda: self._claimed(params)
            )
            return sorted(
                (row_to_record(dict(zip(_COLUMNS, r, strict=True))) for r in rows), key=order_key
            )

        def work(conn: Connection) -> list[WorkflowRecord]:
            if postgres and shared:
                # A queue-wide count serializes every claimer of the queue; partition
                # counts only those of the partition.
                key = None if queue_wide.shared else partition_key
                conn.execute(
                    select(
                        func.pg_advisory_xact_lock(
                            QUEUE_LOCK_NAMESPACE, advisory_key(queue_name, key)
                        )
                    )
                )
            if not postgres:
                conn.execute(_RELEASE[partitioned], params)
            counts = local
            if shared:
                needs = (
                    queue_wide.concurrency is not None,
                    queue_wide.rate_limit is not None,
                    partition.concurrency is not None,
                    partition.rate_limit is not None,
                )
                stmt = _COUNTS[(needs, partitioned)]
                pending, recent, p_pending, p_recent = conn.execute(stmt, params).one()
                workers = 1
                if postgres and queue_wide.concurrency is not None:
                    # Live workers share the global limit fairly (see ``budget``).
                    workers = int(conn.execute(_LIVE_WORKERS).scalar_one())
                counts = attrs.evolve(
                    local,
                    pending=int(pending),
                    recent_dequeues=int(recent),
                    partition_pending=int(p_pending),
                    partition_recent_dequeues=int(p_recent),
                    workers=workers,
                )
            allowed = budget(limits, counts, max_claims)
            if allowed == 0:
                if postgres:  # the claim statement would have released the due rows
                    conn.execute(_RELEASE[partitioned], params)
                return []
            stmt = _CLAIM[(dialect, partitioned, versions, allowed is not None)]
            rows = conn.execute(stmt, {**params, "limit": allowed}).mappings().all()
            return sorted((row_to_record(r) for r in rows), key=order_key)

        def settle() -> list[WorkflowRecord]:
            rows = self._claimed(params)
            return sorted(
                (row_to_record(dict(zip(_COLUMNS, r, strict=True))) for r in rows), key=order_key
            )

        return self._db.run(Mode.WRITE, work, settle=settle)

    def _claimed(self, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row the claim stamped ``params`` took (its earlier, in-doubt try's too)."""
        return self._db.fetch(_CLAIMED_AT, params)

    def queued_partitions(self, queue_name: str, now_ms: int) -> list[str]:
        """Partition keys with an ENQUEUED (or due DELAYED) row on ``queue_name``."""
        params = {"queue": queue_name, "now": now_ms}
        return self._db.run(
            Mode.READ, lambda conn: [str(k) for k in conn.execute(_PARTITIONS, params).scalars()]
        )
