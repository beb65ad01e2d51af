"""Events: the latest value per (workflow, key), plus a history entry per setting position.

The history (``workflow_events_history``) is what a fork copies below its start step;
``workflow_events`` keeps the latest value so ``get_event`` is one primary-key read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Text, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from transact._core.checkpoint import Checkpoint
from transact._store.sql.backend import Backend, Mode
from transact._store.sql.checkpoints import write_checkpoint
from transact._store.sql.errors import OnError
from transact._store.sql.notify import NOTIFY_KEY, event_key, notify_columns
from transact._store.sql.schema import workflow_events, workflow_events_history

__all__ = ["EventVerbs"]

ev = workflow_events
hist = workflow_events_history


def _upsert(dialect: str, table: Any, key_columns: list[str], notify: bool) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in key_columns],
        set_={"value": stmt.excluded.value},
    )
    return stmt.returning(*notify_columns(True)) if notify else stmt


_SET_LATEST = {
    (d, notify): _upsert(d, ev, ["workflow_uuid", "key"], notify)
    for d in ("postgresql", "sqlite")
    for notify in (False, True)
}
_SET_HISTORY = {
    d: _upsert(d, hist, ["workflow_uuid", "key", "function_id"], False)
    for d in ("postgresql", "sqlite")
}

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
        dialect = self._db.dialect_name
        latest_stmt = _SET_LATEST[(dialect, self._db.notify)]
        history_stmt = _SET_HISTORY[dialect]
        latest = {"workflow_uuid": workflow_id, "key": key, "value": value}
        history = {**latest, "function_id": function_id}
        notify = self._db.notify

        def work(conn: Connection) -> None:
            if checkpoint is not None:
                write_checkpoint(conn, workflow_id, checkpoint, missing="workflow")
            if notify:
                conn.execute(latest_stmt, {**latest, NOTIFY_KEY: event_key(workflow_id, key)})
            else:
                conn.execute(latest_stmt, latest)
            conn.execute(history_stmt, history)

        on_error = OnError(
            missing=("workflow", workflow_id),
            checkpoint=None if checkpoint is None else (workflow_id, checkpoint.function_id),
        )
        self._db.run(Mode.WRITE, work, on_error)

    def get_event(self, workflow_id: str, key: str) -> str | None:
        """The latest value of event ``key``, or None if it was never set."""
        return self._db.run(
            Mode.READ, lambda conn: conn.execute(_GET, {"wf": workflow_id, "key": key}).scalar()
        )

    def get_all_events(self, workflow_id: str) -> dict[str, str]:
        """The latest value of every event of the workflow."""
        return self._db.run(
            Mode.READ,
            lambda conn: {
                row.key: row.value for row in conn.execute(_GET_ALL, {"wf": workflow_id})
            },
        )
