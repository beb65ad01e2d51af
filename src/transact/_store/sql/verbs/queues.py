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
   order. On Postgres this is one statement (``queue_statements.CLAIM``), so a queue
   without shared limits claims a batch in one autocommit round trip. SQLite releases
   first, then claims, with two statements.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

import attrs
from sqlalchemy import Connection, func, select, text

from transact._core.queue_policy import (
    QueueLimits,
    budget,
    local_counts,
    order_key,
)
from transact._store.records import WorkflowRecord
from transact._store.sql.engine.backend import Backend, Mode
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.verbs.partition_sweep import STARTABLE_KEYS, SWEEP
from transact._store.sql.verbs.queue_statements import (
    CLAIM,
    CLAIMED_AT,
    COLUMNS,
    COUNTS,
    RELEASE,
)
from transact._store.sql.verbs.queue_statistics import StaleStatistics
from transact._store.sql.verbs.workflows import row_to_record

__all__ = ["QueueVerbs", "advisory_key", "presence_key"]

QUEUE_LOCK_NAMESPACE = 0x7471  # "tq": the first key of the two-key advisory locks
_PRESENCE_NAMESPACE = 0x7477  # "tw"


def presence_key(queue_name: str) -> tuple[int, int]:
    """The advisory lock each process serving ``queue_name`` holds (shared) on its queue
    listener's session while it is connected (``Store.serve_queue``); counting its
    holders counts the queue's live workers, whose fair share of a global concurrency
    limit a claim takes (a killed process's session, and lock, go with it)."""
    return (_PRESENCE_NAMESPACE, advisory_key(queue_name, None))


_WORKFLOW_TABLE = f"{POSTGRES_SCHEMA}.workflow_status"
# Rows of the workflow table inserted, updated or deleted since its last ANALYZE.
_CHANGED_SINCE_ANALYZE = text(
    "SELECT n_mod_since_analyze FROM pg_stat_user_tables"
    f" WHERE relid = '{_WORKFLOW_TABLE}'::regclass"
)
_WORTH_ANALYZING = 1000

# How many sessions of this database hold a queue's presence lock (Postgres). Two-int4
# advisory locks (``objsubid = 2``) live apart from the single-bigint migration lock;
# their keys show as unsigned ``oid`` values.
_LIVE_WORKERS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    f" AND classid = {_PRESENCE_NAMESPACE} AND objid::bigint = :presence AND objsubid = 2"
)


def advisory_key(queue_name: str, partition_key: str | None) -> int:
    """The second advisory-lock key of a queue (or one partition): a stable int4."""
    text = queue_name if partition_key is None else f"{queue_name}\x00{partition_key}"
    unsigned = zlib.crc32(text.encode())
    return unsigned - 2**32 if unsigned >= 2**31 else unsigned


class QueueVerbs:
    """The queue verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend
    # Postgres only (set by ``PostgresStore``): see ``queue_statistics.py``.
    _statistics: StaleStatistics | None = None

    def _analyze_workflows(self) -> bool:
        """``ANALYZE`` the workflow table (a slow claim found a backlog; Postgres), unless
        few rows changed since its statistics were taken: then they are not what made
        the claim slow, and a big table is not sampled again for nothing. Whether it
        analyzed."""

        def work(conn: Connection) -> bool:
            changed = conn.execute(_CHANGED_SINCE_ANALYZE).scalar()
            if changed is not None and changed < _WORTH_ANALYZING:
                return False
            conn.exec_driver_sql(f"ANALYZE {_WORKFLOW_TABLE}")
            return True

        return self._db.run(Mode.WRITE, work)

    def _watch_claim(self, start: float, rows: int, allowed: int | None) -> None:
        """Tell the statistics watch how long a Postgres claim since ``start`` took."""
        if self._statistics is not None:
            full = allowed is None or rows >= allowed
            self._statistics.claimed(time.perf_counter() - start, full=full)

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
            stmt = CLAIM[(dialect, partitioned, versions, allowed is not None)]
            start = time.perf_counter()
            rows = self._db.execute_returning(
                stmt, {**params, "limit": allowed}, settle=lambda: self._claimed(params)
            )
            self._watch_claim(start, len(rows), allowed)
            return _records(rows)

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
                conn.execute(RELEASE[partitioned], params)
            counts = local
            if shared:
                needs = (
                    queue_wide.concurrency is not None,
                    queue_wide.rate_limit is not None,
                    partition.concurrency is not None,
                    partition.rate_limit is not None,
                )
                stmt = COUNTS[(needs, partitioned)]
                pending, recent, p_pending, p_recent = conn.execute(stmt, params).one()
                workers = 1
                if postgres and queue_wide.concurrency is not None:
                    # Live workers share the global limit fairly (see ``budget``).
                    presence = presence_key(queue_name)[1] & 0xFFFFFFFF
                    live = conn.execute(_LIVE_WORKERS, {"presence": presence}).scalar_one()
                    workers = max(1, int(live))  # this claimer, even if not yet counted
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
                    conn.execute(RELEASE[partitioned], params)
                return []
            stmt = CLAIM[(dialect, partitioned, versions, allowed is not None)]
            start = time.perf_counter()
            rows = conn.execute(stmt, {**params, "limit": allowed}).mappings().all()
            self._watch_claim(start, len(rows), allowed)
            return sorted((row_to_record(r) for r in rows), key=order_key)

        return self._db.run(Mode.WRITE, work, settle=lambda: _records(self._claimed(params)))

    def claim_partition_heads(
        self,
        queue_name: str,
        *,
        executor_id: str,
        application_version: str | None,
        max_claims: int | None,
        now_ms: int,
        take_unversioned: bool = True,
    ) -> list[WorkflowRecord]:
        """Claim each idle partition's first row in one statement (see ``Store`` and
        ``partition_sweep.py``)."""
        if max_claims is not None and max_claims <= 0:
            return []
        dialect = self._db.dialect_name
        versions = "any" if application_version is None else "with" if take_unversioned else "own"
        params: dict[str, Any] = {
            "queue": queue_name,
            "now": now_ms,
            "executor": executor_id,
            "version": application_version,
            "limit": max_claims,
        }
        stmt = SWEEP[(dialect, versions, max_claims is not None)]
        if dialect == "postgresql":
            rows = self._db.execute_returning(stmt, params, settle=lambda: self._claimed(params))
            return _records(rows)

        def work(conn: Connection) -> list[WorkflowRecord]:
            conn.execute(RELEASE[False], params)
            rows = conn.execute(stmt, params).mappings().all()
            return sorted((row_to_record(r) for r in rows), key=order_key)

        return self._db.run(Mode.WRITE, work, settle=lambda: _records(self._claimed(params)))

    def _claimed(self, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row the claim stamped ``params`` took (its earlier, in-doubt try's too)."""
        return self._db.fetch(CLAIMED_AT, params)

    def queued_partitions(self, queue_name: str, now_ms: int) -> list[str]:
        """Partition keys with an ENQUEUED (or due DELAYED) row on ``queue_name``."""
        params = {"queue": queue_name, "now": now_ms}
        stmt = STARTABLE_KEYS[self._db.dialect_name]
        return self._db.run(
            Mode.READ, lambda conn: [str(k) for k in conn.execute(stmt, params).scalars()]
        )


def _records(rows: list[tuple[Any, ...]]) -> list[WorkflowRecord]:
    """Claimed rows (in ``COLUMNS`` order) as records, in dequeue order."""
    return sorted((row_to_record(dict(zip(COLUMNS, r, strict=True))) for r in rows), key=order_key)
