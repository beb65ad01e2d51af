"""Events: the latest value per (workflow, key), plus a history entry per setting position.

The history (``workflow_events_history``) is what a fork copies below its start step;
``workflow_events`` keeps the latest value so ``get_event`` is one primary-key read.

On Postgres ``set_event`` is one autocommit statement (the history and, in workflow
code, the checkpoint are data-modifying CTEs, see ``checkpointed.py``); on SQLite it is
a transaction of two or three statements. On Postgres, where events have no foreign key
to their workflow (migration 15), the statement checks that the workflow exists (or is
PENDING) itself, without locking its row; on SQLite the foreign key refuses them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, bindparam, exists, select
from sqlalchemy.dialects import postgresql, sqlite

from transact._core.checkpoint import Checkpoint
from transact._store.sql.engine.backend import Backend, Mode
from transact._store.sql.engine.errors import OnError
from transact._store.sql.engine.raw import RawConnection
from transact._store.sql.schema.tables import (
    workflow_events,
    workflow_events_history,
    workflow_status,
)
from transact._store.sql.verbs.checkpointed import checkpoint_cte
from transact._store.sql.verbs.checkpoints import (
    checkpoint_params,
    raise_not_pending,
    write_checkpoint,
)
from transact._store.sql.verbs.notify import NOTIFY_KEY, event_key, notify_columns

__all__ = ["EventVerbs"]

ev = workflow_events
hist = workflow_events_history

_EVENT: dict[str, ColumnElement[Any]] = {
    "workflow_uuid": bindparam("workflow_uuid", type_=Text),
    "key": bindparam("key", type_=Text),
    "function_id": bindparam("function_id", type_=Integer),
    "value": bindparam("value", type_=Text),
}


def _sqlite_upsert(table: Any) -> Any:
    insert = sqlite.insert(table)
    return insert.on_conflict_do_update(
        index_elements=list(table.primary_key.columns), set_={"value": insert.excluded.value}
    )


_SQLITE_SET_LATEST = _sqlite_upsert(ev)
_SQLITE_SET_HISTORY = _sqlite_upsert(hist)


def _set_event_at_once(checkpointed: bool) -> Any:
    """Postgres: the history entry and the latest value (and the checkpoint, which the
    other two select FROM, so they are written only if it is) in one statement. Its
    rowcount is 1, or 0 if the checkpoint was not recorded (the workflow not PENDING).

    Without a checkpoint (in a step), both rows are written only if the workflow exists:
    Postgres keeps no foreign key from events to workflows (migration 15), as checking
    it locked the workflow's row on every write; the guard reads its key instead."""
    ck = checkpoint_cte() if checkpointed else None
    found = exists().where(workflow_status.c.workflow_uuid == _EVENT["workflow_uuid"])

    def rows(table: Any) -> Any:
        values = select(*(_EVENT[column.name] for column in table.c))
        insert = postgresql.insert(table).from_select(
            [column.name for column in table.c],
            values.where(found) if ck is None else values.select_from(ck),
        )
        return insert.on_conflict_do_update(
            index_elements=list(table.primary_key.columns), set_={"value": insert.excluded.value}
        )

    return rows(ev).add_cte(rows(hist).cte("history")).returning(*notify_columns(True))


_SET_AT_ONCE = {checkpointed: _set_event_at_once(checkpointed) for checkpointed in (False, True)}

_GET = select(ev.c.value).where(
    ev.c.workflow_uuid == bindparam("wf", type_=Text), ev.c.key == bindparam("key", type_=Text)
)
_GET_ALL = select(ev.c.key, ev.c.value).where(ev.c.workflow_uuid == bindparam("wf", type_=Text))


class EventVerbs:
    """The event verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend

    def set_event(
        self,
        workflow_id: str,
        key: str,
        value: str,
        function_id: int,
        checkpoint: Checkpoint | None,
    ) -> None:
        """Set event ``key`` and its history entry at ``function_id`` (see ``Store``)."""
        latest = {"workflow_uuid": workflow_id, "key": key, "value": value}
        history = {**latest, "function_id": function_id}
        on_error = OnError(
            missing=("target", workflow_id),
            checkpoint=None if checkpoint is None else (workflow_id, checkpoint.function_id),
        )
        if self._db.dialect_name == "postgresql":
            params = {**history, NOTIFY_KEY: event_key(workflow_id, key)}
            if checkpoint is not None:
                params.update(checkpoint_params(workflow_id, checkpoint))
            if not self._db.execute_one(_SET_AT_ONCE[checkpoint is not None], params, on_error):
                # Not written (workflow missing, or not PENDING): say why, as the foreign
                # key's error did for a missing workflow before migration 15.
                self._db.run(
                    Mode.READ,
                    lambda conn: raise_not_pending(conn, workflow_id, missing="target"),
                )
            return

        def work(conn: RawConnection) -> None:
            if checkpoint is not None:
                write_checkpoint(conn, workflow_id, checkpoint, missing="target")
            conn.execute(_SQLITE_SET_LATEST, latest)
            conn.execute(_SQLITE_SET_HISTORY, history)

        self._db.run_raw(Mode.WRITE, work, on_error, committed=lambda: None)

    def get_event(self, workflow_id: str, key: str) -> str | None:
        """The latest value of event ``key``, or None if it was never set."""
        rows = self._db.fetch(_GET, {"wf": workflow_id, "key": key})
        return str(rows[0][0]) if rows else None

    def get_all_events(self, workflow_id: str) -> dict[str, str]:
        """The latest value of every event of the workflow."""
        return self._db.run(
            Mode.READ,
            lambda conn: {
                row.key: row.value for row in conn.execute(_GET_ALL, {"wf": workflow_id})
            },
        )
