"""Workflow status verbs: insert-or-attach, read, outcome, list, recovery and dequeue.

Each verb is one statement where it can be: ``insert_workflow`` is an
``INSERT ... ON CONFLICT (workflow_uuid) DO NOTHING`` that reads the existing row only
when there was one; transitions are one ``UPDATE ... WHERE status IN (sources)`` whose
sources come from the core's transition table, with ``RETURNING`` when the caller
wants the new row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import (
    BigInteger,
    Connection,
    Text,
    and_,
    bindparam,
    case,
    func,
    select,
    update,
)

from transact._core.status import StatusEvent, WorkflowStatusString
from transact._store.records import WorkflowQuery, WorkflowRecord
from transact._store.sql.engine.backend import Backend, Mode, chunked
from transact._store.sql.engine.batching import Batch
from transact._store.sql.engine.errors import OnError
from transact._store.sql.schema.outcome_listeners import ANY_LISTENER
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.verbs.notify import (
    NOTIFY_KEY,
    OUTCOME_CHANNEL,
    notify_columns,
    outcome_notify_columns,
    queue_key,
    status_key,
)
from transact._store.sql.verbs.workflow_insert import batched_insert, insert_or_attach
from transact._store.sql.verbs.workflow_list import count_statement, list_statement
from transact._store.sql.verbs.workflow_rows import (
    keyed,
    lit,
    record_values,
    row_columns,
    row_to_record,
    status_in,
    ws,
)

__all__ = [
    "WorkflowVerbs",
    "lit",
    "read_workflow",
    "record_values",
    "row_to_record",
    "status_in",
]

_c = ws.c


def _p(name: str, type_: Any = Text) -> Any:
    return bindparam(name, type_=type_)


# --- statements, built once so SQLAlchemy compiles each once per dialect ---------------

_SELECT_ROW = {
    (i, o): select(*row_columns(i, o)).where(_c.workflow_uuid == _p("wf"))
    for i in (True, False)
    for o in (True, False)
}
_SELECTED_NAMES = {
    key: [c.name for c in stmt.selected_columns] for key, stmt in _SELECT_ROW.items()
}


def read_workflow(
    conn: Connection,
    workflow_id: str,
    *,
    load_input: bool = True,
    load_output: bool = True,
    execution_options: dict[str, Any] | None = None,
) -> WorkflowRecord | None:
    """The row of ``workflow_id`` read on ``conn``, or None."""
    stmt = _SELECT_ROW[(load_input, load_output)]
    result = conn.execute(stmt, {"wf": workflow_id}, execution_options=execution_options or {})
    row = result.mappings().first()
    return None if row is None else row_to_record(row)


_FINISH_BASE = (
    update(ws)
    .where(_c.workflow_uuid == _p("wf"), keyed(_c.status == lit("PENDING")))
    .values(
        status=_p("p_status"),
        output=_p("p_output"),
        error=_p("p_error"),
        completed_at=_p("now", BigInteger),
        updated_at=_p("now", BigInteger),
        deduplication_id=None,
    )
)
_FINISH = {False: _FINISH_BASE, True: _FINISH_BASE.returning(*outcome_notify_columns(True))}

# Postgres: many workflows' concurrent outcomes in one statement (``batching.py``). A row
# it did not update was not PENDING (a guard ``keyed`` by IS TRUE), as the single UPDATE.
_BATCH_FINISH = Batch(
    name="finish_workflow",
    sql=f"""
UPDATE {POSTGRES_SCHEMA}.workflow_status AS s
SET status = v.status, output = v.output, error = v.error,
    completed_at = v.now, updated_at = v.now, deduplication_id = NULL
FROM unnest(
    %(wf)s::text[], %(p_status)s::text[], %(p_output)s::text[], %(p_error)s::text[],
    %(now)s::bigint[], %({NOTIFY_KEY})s::text[]
) AS v(wf, status, output, error, now, notify_key)
WHERE s.workflow_uuid = v.wf AND (s.status = 'PENDING') IS TRUE
RETURNING s.workflow_uuid,
    CASE WHEN {ANY_LISTENER} THEN pg_notify('{OUTCOME_CHANNEL}', v.notify_key) END
""",
    params=("wf", "p_status", "p_output", "p_error", "now", NOTIFY_KEY),
    key=("wf",),
    retry_unwritten=False,
)

_PENDING_IDS = (
    select(_c.workflow_uuid)
    .where(_c.status == lit("PENDING"), _c.executor_id == _p("executor"))
    .order_by(_c.created_at, _c.workflow_uuid)
)
_PENDING_IDS_OF_VERSION = _PENDING_IDS.where(_c.application_version == _p("version"))

_ALL = list(ws.c)

_BEGIN_RECOVERY = (
    update(ws)
    .where(_c.workflow_uuid == _p("wf"), status_in(StatusEvent.RECOVER))
    .values(
        recovery_attempts=_c.recovery_attempts + 1,
        executor_id=_p("executor"),
        updated_at=_p("now", BigInteger),
    )
    .returning(*_ALL)
)

# The same claim for a list of ids: recovery at launch claims all its rows in a few
# statements instead of one commit each.
_BEGIN_RECOVERY_MANY = (
    update(ws)
    .where(_c.workflow_uuid.in_(bindparam("ids", expanding=True)), status_in(StatusEvent.RECOVER))
    .values(
        recovery_attempts=_c.recovery_attempts + 1,
        executor_id=_p("executor"),
        updated_at=_p("now", BigInteger),
    )
    .returning(*_ALL)
)

_CLAIM_BASE = (
    update(ws)
    .where(_c.workflow_uuid == _p("wf"), status_in(StatusEvent.DEQUEUE))
    .values(
        status=lit("PENDING"),
        recovery_attempts=_c.recovery_attempts + 1,
        executor_id=_p("executor"),
        started_at_epoch_ms=_p("now", BigInteger),
        updated_at=_p("now", BigInteger),
        application_version=func.coalesce(func.nullif(_c.application_version, ""), _p("version")),
        workflow_deadline_epoch_ms=case(
            (
                and_(
                    _c.workflow_timeout_ms.isnot(None),
                    _c.workflow_deadline_epoch_ms.is_(None),
                ),
                _p("now", BigInteger) + _c.workflow_timeout_ms,
            ),
            else_=_c.workflow_deadline_epoch_ms,
        ),
    )
)
_CLAIM = {n: _CLAIM_BASE.returning(*_ALL, *notify_columns(n)) for n in (False, True)}

_DEAD_LETTER_BASE = (
    update(ws)
    .where(_c.workflow_uuid == _p("wf"), status_in(StatusEvent.DEAD_LETTER))
    .values(
        status=lit(WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value),
        queue_name=None,
        deduplication_id=None,
        started_at_epoch_ms=None,
        completed_at=_p("now", BigInteger),
        updated_at=_p("now", BigInteger),
    )
)
_DEAD_LETTER = {
    False: _DEAD_LETTER_BASE,
    True: _DEAD_LETTER_BASE.returning(*notify_columns(True)),
}

_FINISH_STATUSES = frozenset({WorkflowStatusString.SUCCESS.value, WorkflowStatusString.ERROR.value})


def _changed(result: Any, notify: bool) -> bool:
    """Whether an UPDATE changed its row (read from RETURNING when it notifies)."""
    return bool(result.all()) if notify else bool(result.rowcount)


class WorkflowVerbs:
    """The workflow-status verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend

    def insert_workflow(
        self, record: WorkflowRecord, *, fresh_id: bool = False, announce: bool = False
    ) -> tuple[WorkflowRecord, bool]:
        """Insert ``record`` or return the existing row with its id (see ``Store``)."""
        # ValueError on a bad status before anything is written; stored as the plain string.
        status = WorkflowStatusString(record.status).value
        if status is not record.status:  # e.g. an enum member: store and return the plain string
            record = attrs.evolve(record, status=status)
        # Postgres notifies from the insert itself; SQLite's runners find user-queue rows
        # at their poll (``schema/change_log.py``), as ``publish`` does nothing there.
        announce = announce and self._db.notify and record.queue_name is not None
        stmt = insert_or_attach(self._db.dialect_name, fresh_id=fresh_id, announce=announce)
        values = record_values(record)
        if announce:
            values[NOTIFY_KEY] = queue_key(str(record.queue_name))
        on_error = OnError(record=record)
        # Concurrent inserts of fresh ids share one statement on Postgres (``batching.py``).
        batch = batched_insert(announce=announce) if fresh_id else None
        while True:
            # The INSERT commits on its own (one round trip on Postgres); the existing row
            # is read only after a clash, when the row certainly existed.
            if self._db.execute_one(
                stmt, values, on_error, settle=lambda: self._own(record), batch=batch
            ):
                return record, True
            existing = self.get_workflow(record.workflow_id)
            if existing is not None:
                return existing, False
            # The row that clashed was deleted in between: insert again.

    def _own(self, record: WorkflowRecord) -> int:
        """Settle an insert whose commit was in doubt: 1 if the row is the one it wrote
        (same creation time, executor and inputs), else 0 (insert again, or attach)."""
        existing = self.get_workflow(record.workflow_id)
        return int(existing is not None and _is_own_insert(existing, record))

    def get_workflow(
        self, workflow_id: str, *, load_input: bool = True, load_output: bool = True
    ) -> WorkflowRecord | None:
        """The row of ``workflow_id``, or None."""
        # A raw read (``Backend.fetch``): awaiting a result reads this row once per wait.
        key = (load_input, load_output)
        rows = self._db.fetch(_SELECT_ROW[key], {"wf": workflow_id})
        return (
            row_to_record(dict(zip(_SELECTED_NAMES[key], rows[0], strict=True))) if rows else None
        )

    def finish_workflow(
        self, workflow_id: str, *, status: str, output: str | None, error: str | None, now_ms: int
    ) -> bool:
        """Record the outcome of a PENDING workflow; False if it is not PENDING.

        Raises ``ValueError`` if ``status`` is not SUCCESS or ERROR.
        """
        if status not in _FINISH_STATUSES:
            raise ValueError(f"finish_workflow needs status SUCCESS or ERROR, not {status!r}")
        params = {
            "wf": workflow_id,
            "p_status": status,
            "p_output": output,
            "p_error": error,
            "now": now_ms,
        }
        if self._db.notify:
            params[NOTIFY_KEY] = status_key(workflow_id)
        # rowcount counts the updated rows, with or without the RETURNING pg_notify.
        batch = _BATCH_FINISH if self._db.notify else None
        return bool(self._db.execute_one(_FINISH[self._db.notify], params, batch=batch))

    def list_workflows(self, query: WorkflowQuery) -> list[WorkflowRecord]:
        """Rows matching ``query``, ordered and paged as ``WorkflowQuery`` describes."""
        stmt = list_statement(query, self._db.dialect_name)
        return self._db.run(
            Mode.READ, lambda conn: [row_to_record(r) for r in conn.execute(stmt).mappings()]
        )

    def count_workflows(self, query: WorkflowQuery) -> dict[str, int]:
        """How many rows match ``query``'s filters, by status (paging ignored)."""
        stmt = count_statement(query, self._db.dialect_name)
        return self._db.run(
            Mode.READ, lambda conn: {str(s): int(n) for s, n in conn.execute(stmt).all()}
        )

    def pending_workflow_ids(self, executor_id: str, application_version: str | None) -> list[str]:
        """Ids of PENDING rows owned by ``executor_id``, oldest first."""
        if application_version is None:
            stmt, params = _PENDING_IDS, {"executor": executor_id}
        else:
            stmt = _PENDING_IDS_OF_VERSION
            params = {"executor": executor_id, "version": application_version}
        return self._db.run(Mode.READ, lambda conn: list(conn.execute(stmt, params).scalars()))

    def begin_recovery(
        self, workflow_id: str, executor_id: str, now_ms: int
    ) -> WorkflowRecord | None:
        """Count a recovery attempt of a PENDING row and hand it to ``executor_id``."""
        params = {"wf": workflow_id, "executor": executor_id, "now": now_ms}
        return self._db.run(Mode.WRITE_ONE, lambda conn: _one(conn, _BEGIN_RECOVERY, params))

    def begin_recovery_many(
        self, workflow_ids: Sequence[str], executor_id: str, now_ms: int
    ) -> list[WorkflowRecord]:
        """``begin_recovery`` of every listed row in one transaction (one UPDATE ...
        RETURNING per ``backend.IDS_PER_STATEMENT`` ids); the claimed rows in the ids' order."""
        ids = list(dict.fromkeys(workflow_ids))
        chunks = chunked(ids)

        def work(conn: Connection) -> list[WorkflowRecord]:
            claimed: dict[str, WorkflowRecord] = {}
            for chunk in chunks:
                params = {"ids": list(chunk), "executor": executor_id, "now": now_ms}
                for row in conn.execute(_BEGIN_RECOVERY_MANY, params).mappings():
                    record = row_to_record(row)
                    claimed[record.workflow_id] = record
            return [claimed[i] for i in ids if i in claimed]

        if not chunks:
            return []
        return self._db.run(Mode.WRITE_ONE if len(chunks) == 1 else Mode.WRITE, work)

    def claim_workflow(
        self, workflow_id: str, executor_id: str, application_version: str | None, now_ms: int
    ) -> WorkflowRecord | None:
        """Dequeue one ENQUEUED row for ``executor_id``; None if it is not ENQUEUED."""
        params = {
            "wf": workflow_id,
            "executor": executor_id,
            "version": application_version,
            "now": now_ms,
            NOTIFY_KEY: status_key(workflow_id),
        }
        stmt = _CLAIM[self._db.notify]
        return self._db.run(Mode.WRITE_ONE, lambda conn: _one(conn, stmt, params))

    def dead_letter(self, workflow_id: str, now_ms: int) -> bool:
        """Move a PENDING row to MAX_RECOVERY_ATTEMPTS_EXCEEDED; False if not PENDING."""
        notify = self._db.notify
        params = {"wf": workflow_id, "now": now_ms, NOTIFY_KEY: status_key(workflow_id)}
        return self._db.run(
            Mode.WRITE_ONE,
            lambda conn: _changed(conn.execute(_DEAD_LETTER[notify], params), notify),
        )


def _is_own_insert(existing: WorkflowRecord, record: WorkflowRecord) -> bool:
    """Whether ``existing`` is the row ``record``'s insert wrote (see ``insert_workflow``)."""
    return (
        existing.created_at == record.created_at
        and existing.executor_id == record.executor_id
        and existing.name == record.name
        and existing.inputs == record.inputs
        and existing.recovery_attempts == record.recovery_attempts
    )


def _one(conn: Connection, stmt: Any, params: Mapping[str, Any]) -> WorkflowRecord | None:
    row = conn.execute(stmt, params).mappings().first()
    return None if row is None else row_to_record(row)
