"""Streams: append-only values per (workflow, key) at offsets 0, 1, 2, ...

The next offset is computed inside the insert itself (``COALESCE(MAX("offset"), -1) + 1``),
so a write is one statement. In workflow code it also writes its checkpoint: on Postgres
in the same statement (a data-modifying CTE, see ``checkpointed.py``), so a write costs
one autocommit round trip; on SQLite in the same statement too, an insert into a view
whose trigger writes both rows (``schema/stream_appends.py``), followed by a read of the
offset on the same connection. Two Postgres writers racing on one stream may compute the
same offset; the loser hits the primary key and the backend runs the whole statement
again. SQLite writers are serialized by the database's write lock and never race. On
Postgres, where values have no foreign key to their workflow, each statement checks that
the workflow exists (or is PENDING) itself, without locking its row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Text, and_, bindparam, exists, func, insert, select, text

from transact._core.checkpoint import Checkpoint
from transact._store.coalesced_publish import CoalescedPublisher
from transact._store.records import StreamRead
from transact._store.sql.engine.backend import Backend, Mode
from transact._store.sql.engine.errors import OnError, Violation
from transact._store.sql.engine.raw import RawConnection
from transact._store.sql.schema.stream_appends import APPEND_COLUMNS, STREAM_APPENDS
from transact._store.sql.schema.tables import streams, workflow_status
from transact._store.sql.verbs.checkpointed import checkpoint_cte
from transact._store.sql.verbs.checkpoints import (
    CHECKPOINT_BINDS,
    checkpoint_params,
    raise_not_pending,
)
from transact._store.sql.verbs.notify import NOTIFY_KEY, notify_columns, stream_key

__all__ = ["StreamVerbs"]

st = streams
ws = workflow_status

_WF = bindparam("wf", type_=Text)
_KEY = bindparam("key", type_=Text)

_COLUMNS = ["workflow_uuid", "key", "offset", "value", "function_id"]


def _next_value() -> Any:
    """The row to append: the workflow, key, next offset, value and function id."""
    next_offset = (
        select(func.coalesce(func.max(st.c.offset), -1) + 1)
        .where(st.c.workflow_uuid == _WF, st.c.key == _KEY)
        .scalar_subquery()
    )
    value = bindparam("value", type_=Text)
    return select(_WF, _KEY, next_offset, value, bindparam("function_id", type_=Integer))


_APPEND = insert(st).from_select(_COLUMNS, _next_value()).returning(st.c.offset)
"""SQLite: its foreign key refuses a value for a missing workflow."""

# Postgres, in workflow code: the checkpoint and the value in one statement. The value is
# selected FROM the checkpoint's CTE, so it is written only if the checkpoint is (the
# workflow PENDING); no row comes back otherwise.
_APPEND_CHECKPOINTED = {
    notify: insert(st)
    .from_select(_COLUMNS, _next_value().select_from(checkpoint_cte()))
    .returning(st.c.offset, *notify_columns(notify))
    for notify in (False, True)
}

# Postgres, in a step: the value only if its workflow exists (no row comes back
# otherwise). Postgres keeps no foreign key from streams to workflows (migration 14):
# checking it locked the workflow's row on every write; the guards read it instead.
_APPEND_GUARDED = {
    notify: insert(st)
    .from_select(_COLUMNS, _next_value().where(exists().where(ws.c.workflow_uuid == _WF)))
    .returning(st.c.offset, *notify_columns(notify))
    for notify in (False, True)
}

# One read answers both questions a reader has: the values, and whether to keep waiting.
# Offsets are dense (each write takes MAX + 1), so a range is a run of consecutive values.
_FROM = bindparam("offset", type_=Integer)
_READ = (
    select(ws.c.status, st.c.value)
    .select_from(
        ws.outerjoin(
            st,
            and_(
                st.c.workflow_uuid == ws.c.workflow_uuid,
                st.c.key == _KEY,
                st.c.offset >= _FROM,
                st.c.offset < _FROM + bindparam("limit", type_=Integer),
            ),
        )
    )
    .where(ws.c.workflow_uuid == _WF)
    .order_by(st.c.offset)
)

# SQLite, in workflow code: the checkpoint and the value in one autocommit statement
# (``schema/stream_appends.py``).
_APPEND_BINDS = {
    **{column: name for column, name, _ in CHECKPOINT_BINDS},
    "workflow_uuid": "wf",
    "key": "key",
    "value": "value",
    "function_id": "function_id",
}
_APPEND_WITH_CHECKPOINT = text(
    f"INSERT INTO {STREAM_APPENDS} ({', '.join(APPEND_COLUMNS)}) VALUES "
    f"({', '.join(':' + _APPEND_BINDS[column] for column in APPEND_COLUMNS)})"
)

_RACES = frozenset({Violation.STREAM_OFFSET})

# The offset a workflow's write at one function id took (an in-doubt write that did
# commit: its checkpoint is there, so is its value).
_WRITTEN_AT = select(func.max(st.c.offset)).where(
    st.c.workflow_uuid == _WF, st.c.key == _KEY, st.c.function_id == bindparam("function_id")
)


# The stream's last value and the function id that wrote it: one read of the primary key
# (a write at a given function id is usually the last one; ``_WRITTEN_AT`` reads every
# value of the stream to find it).
_LAST = (
    select(st.c.offset, st.c.function_id)
    .where(st.c.workflow_uuid == _WF, st.c.key == _KEY)
    .order_by(st.c.offset.desc())
    .limit(1)
)


class StreamVerbs:
    """The stream verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend
    # Set, and read, on Postgres only (by ``PostgresStore``): see ``coalesced_notices.py``.
    _notices: CoalescedPublisher

    def write_stream(
        self,
        workflow_id: str,
        key: str,
        value: str,
        function_id: int,
        checkpoint: Checkpoint | None,
    ) -> int:
        """Append ``value`` to stream ``key``; return its offset (see ``Store``)."""
        params: dict[str, Any] = {
            "wf": workflow_id,
            "key": key,
            "value": value,
            "function_id": function_id,
            NOTIFY_KEY: stream_key(workflow_id, key),
        }
        on_error = OnError(
            missing=("target", workflow_id),
            checkpoint=None if checkpoint is None else (workflow_id, checkpoint.function_id),
        )

        def written_at() -> int:  # the offset an in-doubt try that did commit took
            return int(self._db.fetch(_WRITTEN_AT, params)[0][0])

        if self._db.dialect_name == "postgresql":
            notify = self._db.notify and self._notices.inline(params[NOTIFY_KEY])
            stmt = _APPEND_GUARDED[notify]
            if checkpoint is not None:
                stmt = _APPEND_CHECKPOINTED[notify]
                params.update(checkpoint_params(workflow_id, checkpoint))
            rows = self._db.execute_returning(
                stmt, params, on_error, committed=lambda: [(written_at(),)], retry_on=_RACES
            )
            if not rows:  # not written (workflow missing, or not PENDING): say why
                self._db.run(
                    Mode.READ, lambda conn: raise_not_pending(conn, workflow_id, missing="target")
                )
            if self._db.notify and not notify:  # coalesced: announce it now it committed
                self._notices.announce(params[NOTIFY_KEY])
            return int(rows[0][0])

        if checkpoint is None:
            return self._db.run_raw(
                Mode.WRITE_ONE,
                lambda conn: int(conn.execute(_APPEND, params).rows[0][0]),
                on_error,
                committed=written_at,
            )
        params.update(checkpoint_params(workflow_id, checkpoint))

        def append(conn: RawConnection) -> int:
            # One autocommit statement, then its offset read back on the same connection
            # (the insert returns nothing); none: the workflow is not PENDING.
            conn.execute(_APPEND_WITH_CHECKPOINT, params)
            last = conn.execute(_LAST, params).rows
            if last and last[0][1] == function_id:
                return int(last[0][0])
            offset = conn.execute(_WRITTEN_AT, params).scalar()  # another write came after
            if offset is None:
                raise_not_pending(conn, workflow_id, missing="target")
            return int(offset)

        return self._db.run_raw(Mode.WRITE_ONE, append, on_error, committed=written_at)

    def read_stream(self, workflow_id: str, key: str, offset: int, limit: int = 1) -> StreamRead:
        """The value at ``offset`` (None if not yet written) and the workflow's status,
        and up to ``limit - 1`` values after it (see ``Store``)."""
        params = {"wf": workflow_id, "key": key, "offset": offset, "limit": max(limit, 1)}
        # Straight on the driver (``fetch``): SQLAlchemy's rows cost more per value than
        # the read itself when a finished stream is read 500 values at a time.
        rows = self._db.fetch(_READ, params)
        if not rows:
            return StreamRead(value=None, workflow_status=None)
        values = tuple(value for _, value in rows if value is not None)
        return StreamRead(
            value=values[0] if values else None,
            workflow_status=rows[0][0],
            following=values[1:],
        )
