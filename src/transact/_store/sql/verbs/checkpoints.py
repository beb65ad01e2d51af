"""Checkpoints: the hot path of every workflow step.

``record_checkpoint`` is one statement and one commit::

    INSERT INTO operation_outputs (...)
    SELECT :wf, :function_id, ...
    WHERE (SELECT status FROM workflow_status WHERE workflow_uuid = :wf) = 'PENDING'

The guard reads the status row through its primary key, inside the same statement, so a
step costs no separate read. It is a subquery of the key alone so that no status index
can serve it: as ``EXISTS (... workflow_uuid = :wf AND status = 'PENDING')``, statistics
taken while few rows were PENDING let Postgres walk every PENDING row of a status index
instead (15 ms a batched checkpoint with 100,000 workflows waiting, until the next
ANALYZE replaced the cached plan). Zero rows inserted means the workflow is not PENDING; only
then, on that error path, is the status looked up to name it. A primary-key clash is a
duplicate execution (``CheckpointConflict``). The other verbs that record a checkpoint
with their own writes (send, recv, set_event, write_stream) use :func:`write_checkpoint`
inside their transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    Text,
    bindparam,
    insert,
    literal_column,
    select,
)

from transact._core.checkpoint import Checkpoint
from transact._store.errors import WorkflowNotPending
from transact._store.sql.engine.backend import Backend, Mode, chunked
from transact._store.sql.engine.batching import Batch
from transact._store.sql.engine.errors import OnError
from transact._store.sql.engine.raw import RawConnection
from transact._store.sql.schema.tables import POSTGRES_SCHEMA, operation_outputs, workflow_status
from transact._store.sql.verbs.id_lists import among_ids
from transact.errors import DBOSNonExistentWorkflowError

__all__ = ["CHECKPOINT_BINDS", "CheckpointVerbs", "checkpoint_error_context", "write_checkpoint"]

oo = operation_outputs
ws = workflow_status

# Bind names carry a ck_ prefix so a verb can share its parameter dict with its own
# statements without clashes.
CHECKPOINT_BINDS: tuple[tuple[str, str, Any], ...] = (
    ("workflow_uuid", "ck_wf", Text),
    ("function_id", "ck_function_id", Integer),
    ("function_name", "ck_function_name", Text),
    ("output", "ck_output", Text),
    ("error", "ck_error", Text),
    ("child_workflow_id", "ck_child_workflow_id", Text),
    ("started_at_epoch_ms", "ck_started_at", BigInteger),
    ("completed_at_epoch_ms", "ck_completed_at", BigInteger),
    ("args_digest", "ck_args_digest", Text),
)
"""Each column of a checkpoint row: (column, bind parameter name, type)."""

_STATUS_OF_CK_WF = select(ws.c.status).where(ws.c.workflow_uuid == bindparam("ck_wf", type_=Text))
WORKFLOW_PENDING = _STATUS_OF_CK_WF.scalar_subquery() == literal_column("'PENDING'")
"""The guard of every checkpoint write: the workflow ``ck_wf`` is PENDING (read by its
key alone; see the module docstring)."""

_INSERT_CHECKPOINT = insert(oo).from_select(
    [column for column, _, _ in CHECKPOINT_BINDS],
    select(*(bindparam(name, type_=type_) for _, name, type_ in CHECKPOINT_BINDS)).where(
        WORKFLOW_PENDING
    ),
)

# Postgres: many workflows' concurrent checkpoints in one statement (``batching.py``). A
# row it did not insert (a clash, or a workflow no longer PENDING) is run again alone,
# which names the error exactly.
_BATCH_INSERT = Batch(
    name="record_checkpoint",
    sql=f"""
INSERT INTO {POSTGRES_SCHEMA}.operation_outputs
    ({", ".join(column for column, _, _ in CHECKPOINT_BINDS)})
SELECT v.* FROM unnest(
    %(ck_wf)s::text[], %(ck_function_id)s::int[], %(ck_function_name)s::text[],
    %(ck_output)s::text[], %(ck_error)s::text[], %(ck_child_workflow_id)s::text[],
    %(ck_started_at)s::bigint[], %(ck_completed_at)s::bigint[], %(ck_args_digest)s::text[]
) AS v(wf, function_id, function_name, output, error, child, started_at, completed_at, digest)
WHERE (
    SELECT s.status FROM {POSTGRES_SCHEMA}.workflow_status AS s WHERE s.workflow_uuid = v.wf
) = 'PENDING'
ON CONFLICT (workflow_uuid, function_id) DO NOTHING
RETURNING workflow_uuid, function_id
""",
    params=tuple(name for _, name, _ in CHECKPOINT_BINDS),
    key=("ck_wf", "ck_function_id"),
    retry_unwritten=True,
)

_OUTPUT = select(oo.c.output).where(
    oo.c.workflow_uuid == bindparam("wf", type_=Text),
    oo.c.function_id == bindparam("function_id", type_=Integer),
)

_STATUS = select(ws.c.status).where(ws.c.workflow_uuid == bindparam("ck_wf", type_=Text))

_LOAD = (
    select(
        oo.c.function_id,
        oo.c.function_name,
        oo.c.output,
        oo.c.error,
        oo.c.child_workflow_id,
        oo.c.started_at_epoch_ms,
        oo.c.completed_at_epoch_ms,
        oo.c.args_digest,
    )
    .where(oo.c.workflow_uuid == bindparam("wf", type_=Text))
    .order_by(oo.c.function_id)
)

_LOAD_MANY = (
    select(oo.c.workflow_uuid, *_LOAD.selected_columns)
    .where(among_ids(oo.c.workflow_uuid, postgres=False))
    .order_by(oo.c.workflow_uuid, oo.c.function_id)
)
# Postgres: the ids as one array parameter, so the read can skip SQLAlchemy's execution
# layer (``Backend.fetch`` takes no expanding IN), which cost more than the read itself
# for the few workflows a queue claim hands over.
_LOAD_ANY = (
    select(oo.c.workflow_uuid, *_LOAD.selected_columns)
    .where(among_ids(oo.c.workflow_uuid, postgres=True))
    .order_by(oo.c.workflow_uuid, oo.c.function_id)
)


def _checkpoint(row: Sequence[Any]) -> Checkpoint:
    """The checkpoint of a row of ``_LOAD`` (or the tail of one of ``_LOAD_MANY``)."""
    function_id, name, output, error, child, started, completed, digest = row
    return Checkpoint(
        function_id=function_id,
        function_name=name,
        output=output,
        error=error,
        child_workflow_id=child,
        started_at_epoch_ms=started,
        completed_at_epoch_ms=completed,
        args_digest=digest,
    )


def checkpoint_params(workflow_id: str, checkpoint: Checkpoint) -> dict[str, Any]:
    """The bind parameters of the checkpoint insert."""
    return {
        "ck_wf": workflow_id,
        "ck_function_id": checkpoint.function_id,
        "ck_function_name": checkpoint.function_name,
        "ck_output": checkpoint.output,
        "ck_error": checkpoint.error,
        "ck_child_workflow_id": checkpoint.child_workflow_id,
        "ck_started_at": checkpoint.started_at_epoch_ms,
        "ck_completed_at": checkpoint.completed_at_epoch_ms,
        "ck_args_digest": checkpoint.args_digest,
    }


def checkpoint_error_context(workflow_id: str, checkpoint: Checkpoint) -> OnError:
    """How a failed checkpoint insert is named: a PK clash is a ``CheckpointConflict``."""
    return OnError(checkpoint=(workflow_id, checkpoint.function_id))


def raise_not_pending(
    conn: Connection | RawConnection, workflow_id: str, *, missing: str | None = None
) -> None:
    """Raise ``WorkflowNotPending`` naming the workflow's status (the error path only).

    With ``missing``, a workflow that does not exist raises
    ``DBOSNonExistentWorkflowError(missing, workflow_id)`` instead.
    """
    status = conn.execute(_STATUS, {"ck_wf": workflow_id}).scalar()
    if status is None and missing is not None:
        raise DBOSNonExistentWorkflowError(missing, workflow_id)
    raise WorkflowNotPending(workflow_id, status)


def write_checkpoint(
    conn: Connection | RawConnection,
    workflow_id: str,
    checkpoint: Checkpoint,
    *,
    missing: str | None = None,
) -> None:
    """Insert ``checkpoint`` in the caller's transaction, or raise as ``record_checkpoint``.

    Run it before the verb's other writes, so the error leaves nothing to undo but the
    transaction's own rollback. ``missing``: see :func:`raise_not_pending`.
    """
    if not conn.execute(_INSERT_CHECKPOINT, checkpoint_params(workflow_id, checkpoint)).rowcount:
        raise_not_pending(conn, workflow_id, missing=missing)


class CheckpointVerbs:
    """The checkpoint verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend

    def record_checkpoint(self, workflow_id: str, checkpoint: Checkpoint) -> None:
        """Record one checkpoint of a PENDING workflow in one statement (see ``Store``)."""
        inserted = self._db.execute_one(
            _INSERT_CHECKPOINT,
            checkpoint_params(workflow_id, checkpoint),
            checkpoint_error_context(workflow_id, checkpoint),
            batch=_BATCH_INSERT,
        )
        if not inserted:
            self._db.run(Mode.READ, lambda conn: raise_not_pending(conn, workflow_id))

    def recorded_output(self, workflow_id: str, function_id: int) -> str | None:
        """The output recorded at (workflow, function id): what a verb whose in-doubt
        commit did happen returns (a consumed message, for one)."""
        rows = self._db.fetch(_OUTPUT, {"wf": workflow_id, "function_id": function_id})
        return None if not rows or rows[0][0] is None else str(rows[0][0])

    def load_checkpoints(self, workflow_id: str) -> list[Checkpoint]:
        """All checkpoints of the workflow, by ascending function id."""
        return [_checkpoint(row) for row in self._db.fetch(_LOAD, {"wf": workflow_id})]

    def load_checkpoints_many(self, workflow_ids: Sequence[str]) -> dict[str, list[Checkpoint]]:
        """All checkpoints of each workflow, keyed by id, in one query per
        ``backend.IDS_PER_STATEMENT`` ids."""

        ids = list(dict.fromkeys(workflow_ids))
        if self._db.dialect_name == "postgresql":
            logs: dict[str, list[Checkpoint]] = {workflow_id: [] for workflow_id in ids}
            for chunk in chunked(ids):
                for row in self._db.fetch(_LOAD_ANY, {"ids": list(chunk)}):
                    logs[row[0]].append(_checkpoint(row[1:]))
            return logs

        def work(conn: Connection) -> dict[str, list[Checkpoint]]:
            # Built afresh by each attempt: a retried read must not append twice.
            logs: dict[str, list[Checkpoint]] = {workflow_id: [] for workflow_id in ids}
            for chunk in chunked(ids):
                for row in conn.execute(_LOAD_MANY, {"ids": list(chunk)}):
                    logs[row[0]].append(_checkpoint(row[1:]))
            return logs

        return self._db.run(Mode.READ, work)
