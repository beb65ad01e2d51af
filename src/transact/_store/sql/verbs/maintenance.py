"""Workflow management: cancel, resume, delete, descendants, fork, reset.

These are operator verbs, not hot paths, but each still runs in one short transaction.
Id lists are processed in chunks so no statement exceeds a driver's parameter limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    update,
)

from transact._core.status import StatusEvent, WorkflowStatusString
from transact._store.records import WorkflowRecord
from transact._store.sql.engine.backend import Backend, Mode, chunked
from transact._store.sql.engine.errors import OnError
from transact._store.sql.schema.tables import (
    notifications,
    operation_outputs,
    queues,
    streams,
    workflow_events,
    workflow_events_history,
    workflow_schedules,
    workflow_status,
)
from transact._store.sql.schema.versions import application_versions
from transact._store.sql.verbs.id_lists import among_ids
from transact._store.sql.verbs.notify import (
    NOTIFY_KEY,
    notify_columns,
    status_key,
    status_notify_column,
)
from transact._store.sql.verbs.orphans import UNCASCADED, delete_orphans
from transact._store.sql.verbs.workflows import (
    lit,
    read_workflow,
    record_values,
    row_to_record,
    status_in,
)
from transact.errors import DBOSNonExistentWorkflowError

__all__ = ["MaintenanceVerbs"]

ws = workflow_status
_c = ws.c
_NOW = bindparam("now", type_=BigInteger)


def _cancel(pg: bool, notify: bool) -> Any:
    """Cancel a chunk's active rows, returning their ids (and, with ``notify``, each
    row's status notification)."""
    stmt = (
        update(ws)
        .where(among_ids(_c.workflow_uuid, postgres=pg), status_in(StatusEvent.CANCEL))
        .values(
            status=lit(WorkflowStatusString.CANCELLED.value),
            queue_name=None,
            deduplication_id=None,
            started_at_epoch_ms=None,
            completed_at=_NOW,
            updated_at=_NOW,
        )
    )
    if notify:
        return stmt.returning(_c.workflow_uuid, status_notify_column(_c.workflow_uuid))
    return stmt.returning(_c.workflow_uuid)


_CANCEL = {(pg, notify): _cancel(pg, notify) for pg in (False, True) for notify in (False, True)}

_RESUME_BASE = (
    update(ws)
    .where(_c.workflow_uuid == bindparam("wf", type_=Text), status_in(StatusEvent.RESUME))
    .values(
        status=lit(WorkflowStatusString.ENQUEUED.value),
        queue_name=bindparam("queue", type_=Text),
        recovery_attempts=0,
        workflow_deadline_epoch_ms=None,
        deduplication_id=None,
        started_at_epoch_ms=None,
        completed_at=None,
        updated_at=_NOW,
    )
)
_RESUME = {n: _RESUME_BASE.returning(*ws.c, *notify_columns(n)) for n in (False, True)}

# Checkpoints, stream values and events first: Postgres has no cascade from workflows to
# them (migrations 5, 14 and 15; SQLite's cascade deletes the values and events).
_DELETES = {
    pg: [
        delete(t).where(among_ids(t.c.workflow_uuid, postgres=pg))
        for t in ((*UNCASCADED, ws) if pg else (operation_outputs, ws))
    ]
    for pg in (False, True)
}
# Postgres: a delete by ids reads the tables through their indexes whatever the
# statistics say, because the store's sessions plan with sequential scans off
# (``dialects/postgres_session.py``). With no statistics taken yet, or taken while few
# workflows had checkpoints, the planner expects hundreds of checkpoints per id and
# scanned the whole table for each chunk (18 ms a chunk with 300,000 workflows); no
# form of the statement was proof against that.

_CHILDREN = {
    pg: select(_c.workflow_uuid, _c.parent_workflow_id)
    .where(among_ids(_c.parent_workflow_id, postgres=pg))
    .order_by(_c.created_at, _c.workflow_uuid)
    for pg in (False, True)
}

# --- fork ------------------------------------------------------------------------------

_ORIGINAL = bindparam("original", type_=Text)
_NEW = bindparam("new", type_=Text)
_BELOW = bindparam("start_step", type_=Integer)

_MARK_FORKED = update(ws).where(_c.workflow_uuid == _ORIGINAL).values(was_forked_from=true())
_INSERT_FORK = insert(ws)

oo = operation_outputs
_COPY_CHECKPOINTS = insert(oo).from_select(
    [
        "workflow_uuid",
        "function_id",
        "function_name",
        "output",
        "error",
        "child_workflow_id",
        "started_at_epoch_ms",
        "completed_at_epoch_ms",
        "args_digest",
    ],
    select(
        _NEW,
        oo.c.function_id,
        oo.c.function_name,
        oo.c.output,
        oo.c.error,
        oo.c.child_workflow_id,
        oo.c.started_at_epoch_ms,
        oo.c.completed_at_epoch_ms,
        oo.c.args_digest,
    ).where(oo.c.workflow_uuid == _ORIGINAL, oo.c.function_id < _BELOW),
)

_REPLACE_CHILD = (
    update(oo)
    .where(oo.c.workflow_uuid == bindparam("new"), oo.c.child_workflow_id == bindparam("old_child"))
    .values(child_workflow_id=bindparam("new_child"))
)

h = workflow_events_history
_COPY_HISTORY = insert(h).from_select(
    ["workflow_uuid", "function_id", "key", "value"],
    select(_NEW, h.c.function_id, h.c.key, h.c.value).where(
        h.c.workflow_uuid == _ORIGINAL, h.c.function_id < _BELOW
    ),
)
# The latest value per key is the copied history entry with the highest function id.
_h2 = h.alias("later")
REBUILD_EVENTS = insert(workflow_events).from_select(
    ["workflow_uuid", "key", "value"],
    select(_NEW, h.c.key, h.c.value).where(
        h.c.workflow_uuid == _NEW,
        h.c.function_id
        == select(func.max(_h2.c.function_id))
        .where(_h2.c.workflow_uuid == _NEW, _h2.c.key == h.c.key)
        .scalar_subquery(),
    ),
)

st = streams
_COPY_STREAMS = insert(st).from_select(
    ["workflow_uuid", "key", "offset", "value", "function_id"],
    select(_NEW, st.c.key, st.c.offset, st.c.value, st.c.function_id).where(
        st.c.workflow_uuid == _ORIGINAL, st.c.function_id < _BELOW
    ),
)

# Children before parents, so the reset works even without the FK cascade.
_RESET = [
    delete(t)
    for t in (
        notifications,
        operation_outputs,
        workflow_events_history,
        workflow_events,
        streams,
        workflow_status,
        application_versions,
        queues,
        workflow_schedules,
    )
]


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    """``ids`` without repeats, cut as every bulk verb cuts them (``modes.chunked``)."""
    return chunked(list(dict.fromkeys(ids)))


class MaintenanceVerbs:
    """The management verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend

    def cancel_workflows(self, workflow_ids: Sequence[str], now_ms: int) -> list[str]:
        """Cancel the listed active rows; return the ids actually cancelled, in input order."""
        if not workflow_ids:
            return []
        stmt = _CANCEL[(self._db.dialect_name == "postgresql", self._db.notify)]

        def work(conn: Connection) -> set[str]:
            done: set[str] = set()
            for chunk in _chunks(workflow_ids):
                done.update(r[0] for r in conn.execute(stmt, {"ids": chunk, "now": now_ms}))
            return done

        cancelled = self._db.run(Mode.WRITE, work)
        return [wf for wf in dict.fromkeys(workflow_ids) if wf in cancelled]

    def resume_workflow(
        self, workflow_id: str, queue_name: str, now_ms: int
    ) -> WorkflowRecord | None:
        """Re-enqueue a resumable row on ``queue_name`` (see ``Store``)."""
        stmt = _RESUME[self._db.notify]
        params = {
            "wf": workflow_id,
            "queue": queue_name,
            "now": now_ms,
            NOTIFY_KEY: status_key(workflow_id),
        }

        def work(conn: Connection) -> WorkflowRecord | None:
            row = conn.execute(stmt, params).mappings().first()
            return None if row is None else row_to_record(row)

        resumed = self._db.run(Mode.WRITE_ONE, work)
        if resumed is not None:
            return resumed
        # Not resumable (SUCCESS or ERROR: returned unchanged) or missing (None).
        return self._db.run(Mode.READ, lambda conn: read_workflow(conn, workflow_id))

    def delete_workflows(self, workflow_ids: Sequence[str]) -> None:
        """Delete the rows and everything attached to them: by the FK cascades, or
        explicitly where Postgres keeps no foreign key (checkpoints, values, events)."""
        if not workflow_ids:
            return

        pg = self._db.dialect_name == "postgresql"

        def work(conn: Connection) -> None:
            for chunk in _chunks(workflow_ids):
                for stmt in _DELETES[pg]:
                    conn.execute(stmt, {"ids": chunk})

        self._db.run(Mode.WRITE, work)

    def descendants(self, workflow_ids: Sequence[str]) -> list[str]:
        """Every transitive child of the ids (not the ids), breadth-first: one query per
        generation, each parent's children by (created_at, id), as the memory store."""

        children_of = _CHILDREN[self._db.dialect_name == "postgresql"]

        def work(conn: Connection) -> list[str]:
            seen = set(workflow_ids)
            frontier = list(dict.fromkeys(workflow_ids))
            found: list[str] = []
            while frontier:
                children: dict[str, list[str]] = {}
                for chunk in _chunks(frontier):
                    for child, parent in conn.execute(children_of, {"ids": chunk}):
                        children.setdefault(parent, []).append(child)
                next_frontier: list[str] = []
                for parent in frontier:
                    for child in children.get(parent, []):
                        if child not in seen:
                            seen.add(child)
                            found.append(child)
                            next_frontier.append(child)
                frontier = next_frontier
            return found

        return self._db.run(Mode.READ, work)

    def fork_workflow(
        self,
        original_id: str,
        new: WorkflowRecord,
        start_step: int,
        replacement_children: Mapping[str, str] | None = None,
    ) -> None:
        """Insert ``new`` with the original's history below ``start_step`` (see ``Store``).

        Raises ``DBOSNonExistentWorkflowError`` if the original is missing and
        ``DBOSConflictingWorkflowError`` if ``new.workflow_id`` is taken.
        """
        new = attrs.evolve(new, status=WorkflowStatusString(new.status).value)
        ids = {"original": original_id, "new": new.workflow_id, "start_step": start_step}
        pg = self._db.dialect_name == "postgresql"

        def work(conn: Connection) -> None:
            if not conn.execute(_MARK_FORKED, ids).rowcount:
                raise DBOSNonExistentWorkflowError("target", original_id)
            if pg:  # the copies below must neither add to nor collide with old rows
                delete_orphans(conn, [new.workflow_id])
            conn.execute(_INSERT_FORK, record_values(new))
            conn.execute(_COPY_CHECKPOINTS, ids)
            if replacement_children:
                conn.execute(
                    _REPLACE_CHILD,
                    [
                        {"new": new.workflow_id, "old_child": old, "new_child": repl}
                        for old, repl in replacement_children.items()
                    ],
                )
            conn.execute(_COPY_HISTORY, ids)
            conn.execute(REBUILD_EVENTS, ids)
            conn.execute(_COPY_STREAMS, ids)

        on_error = OnError(record=new, duplicate_id=new.workflow_id)
        # A retry that finds the fork's id taken after an in-doubt commit: it was this fork.
        self._db.run(Mode.WRITE, work, on_error, committed=lambda: None)

    def reset(self) -> None:
        """Delete every row of every table (the schema and its version stay)."""

        def work(conn: Connection) -> None:
            for stmt in _RESET:
                conn.execute(stmt)

        self._db.run(Mode.WRITE, work)
