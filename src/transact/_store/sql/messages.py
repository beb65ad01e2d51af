"""Messages: ``send`` appends to a (destination, topic) queue, ``recv`` takes the oldest.

"Oldest" is by the table's auto-incrementing ``seq``: millisecond timestamps tie. A
message id makes a send idempotent (``ON CONFLICT (message_uuid) DO NOTHING``); a send
without one gets a random id. A topic of None is stored as ``schema.NULL_TOPIC``.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs
from sqlalchemy import (
    BigInteger,
    Connection,
    Text,
    bindparam,
    false,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from transact._core.checkpoint import Checkpoint
from transact._store.sql.backend import Backend, Mode
from transact._store.sql.checkpoints import checkpoint_error_context, write_checkpoint
from transact._store.sql.errors import OnError
from transact._store.sql.notify import NOTIFY_KEY, message_key, notify_columns
from transact._store.sql.schema import NULL_TOPIC, notifications

__all__ = ["MessageVerbs"]

n = notifications


def _send(dialect: str, notify: bool) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(n)
        .values(
            message_uuid=bindparam("message_uuid", type_=Text),
            destination_uuid=bindparam("destination", type_=Text),
            topic=bindparam("topic", type_=Text),
            message=bindparam("message", type_=Text),
            created_at_epoch_ms=bindparam("now", type_=BigInteger),
            consumed=false(),
        )
        .on_conflict_do_nothing(index_elements=[n.c.message_uuid])
    )
    return stmt.returning(*notify_columns(True)) if notify else stmt


_SEND = {
    (d, notify): _send(d, notify) for d in ("postgresql", "sqlite") for notify in (False, True)
}

# The oldest unconsumed message, marked consumed in the same statement. SKIP LOCKED
# (Postgres; SQLite serializes writers instead) lets a concurrent recv take the next one
# rather than wait; ``consumed IS false`` is repeated outside so a row consumed meanwhile
# is not taken twice.
_OLDEST = (
    select(n.c.seq)
    .where(
        n.c.destination_uuid == bindparam("wf", type_=Text),
        n.c.topic == bindparam("p_topic", type_=Text),
        n.c.consumed.is_(false()),
    )
    .order_by(n.c.seq)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CONSUME = (
    update(n)
    .where(n.c.seq == _OLDEST, n.c.consumed.is_(false()))
    .values(consumed=true())
    .returning(n.c.message)
)


def _stored_topic(topic: str | None) -> str:
    return NULL_TOPIC if topic is None else topic


class MessageVerbs:
    """The message verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend

    def send_message(
        self,
        destination_id: str,
        topic: str | None,
        message: str,
        *,
        message_id: str | None,
        now_ms: int,
        checkpoint: tuple[str, Checkpoint] | None = None,
    ) -> bool:
        """Append a message for (destination, topic), idempotent on ``message_id``.

        An idempotent repeat still records the sender's checkpoint, as the memory store
        does: the send, as an operation of the sender, did complete.
        """
        stmt = _SEND[(self._db.dialect_name, self._db.notify)]
        params = {
            "message_uuid": message_id if message_id is not None else uuid.uuid4().hex,
            "destination": destination_id,
            "topic": _stored_topic(topic),
            "message": message,
            "now": now_ms,
            NOTIFY_KEY: message_key(destination_id, topic),
        }
        on_error = OnError(missing=("destination", destination_id))
        if checkpoint is not None:
            on_error = attrs.evolve(on_error, checkpoint=(checkpoint[0], checkpoint[1].function_id))

        def work(conn: Connection) -> bool:
            if checkpoint is not None:
                write_checkpoint(conn, *checkpoint)
            result = conn.execute(stmt, params)
            return bool(result.all()) if self._db.notify else bool(result.rowcount)

        mode = Mode.WRITE if checkpoint is not None else Mode.WRITE_ONE
        return self._db.run(mode, work, on_error)

    def consume_message(
        self, workflow_id: str, topic: str | None, checkpoint: Checkpoint
    ) -> str | None:
        """Take the oldest unconsumed message of (workflow, topic) and checkpoint it."""

        def work(conn: Connection) -> str | None:
            taken = conn.execute(
                _CONSUME, {"wf": workflow_id, "p_topic": _stored_topic(topic)}
            ).scalar()
            if taken is None:
                return None
            write_checkpoint(conn, workflow_id, attrs.evolve(checkpoint, output=taken))
            return str(taken)

        return self._db.run(Mode.WRITE, work, checkpoint_error_context(workflow_id, checkpoint))
