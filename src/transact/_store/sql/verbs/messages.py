"""Messages: ``send`` appends to a (destination, topic) queue, ``recv`` takes the oldest.

"Oldest" is by the table's auto-incrementing ``seq``: millisecond timestamps tie. A
message id makes a send idempotent (``ON CONFLICT (message_uuid) DO NOTHING``); a send
without one gets a random id. A topic of None is stored as ``schema.NULL_TOPIC``.

On Postgres a send or a consume that records a checkpoint is one autocommit statement
(``checkpointed.py``); on SQLite it is a transaction of two statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import attrs
from sqlalchemy import (
    BigInteger,
    ColumnElement,
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
from transact._store.errors import WorkflowNotPending
from transact._store.records import OutgoingMessage
from transact._store.sql.engine.backend import Backend, Mode
from transact._store.sql.engine.errors import OnError
from transact._store.sql.engine.raw import RawConnection
from transact._store.sql.schema.tables import (
    NULL_TOPIC,
    notifications,
    operation_outputs,
    workflow_status,
)
from transact._store.sql.verbs.checkpointed import (
    CHECKPOINT_COLUMNS,
    checkpoint_cte,
    checkpoint_values,
)
from transact._store.sql.verbs.checkpoints import (
    WORKFLOW_PENDING,
    checkpoint_error_context,
    checkpoint_params,
    raise_not_pending,
    write_checkpoint,
)
from transact._store.sql.verbs.notify import NOTIFY_KEY, message_key, notify_columns
from transact.errors import DBOSNonExistentWorkflowError

__all__ = ["EXISTING_DESTINATIONS", "SEND", "MessageVerbs", "message_params"]

n = notifications

_MESSAGE: dict[str, ColumnElement[Any]] = {
    "message_uuid": bindparam("message_uuid", type_=Text),
    "destination_uuid": bindparam("destination", type_=Text),
    "topic": bindparam("topic", type_=Text),
    "message": bindparam("message", type_=Text),
    "created_at_epoch_ms": bindparam("now", type_=BigInteger),
    "consumed": false(),
}


def _send(dialect: str, notify: bool) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(n).values(_MESSAGE).on_conflict_do_nothing(index_elements=[n.c.message_uuid])
    return stmt.returning(*notify_columns(True)) if notify else stmt


SEND = {(d, notify): _send(d, notify) for d in ("postgresql", "sqlite") for notify in (False, True)}


def _send_checkpointed() -> Any:
    """Postgres: the sender's checkpoint, then the message selected FROM it, so it is sent
    only if the checkpoint was recorded. Its rowcount is whether the message was sent."""
    return (
        postgresql.insert(n)
        .from_select(list(_MESSAGE), select(*_MESSAGE.values()).select_from(checkpoint_cte()))
        .on_conflict_do_nothing(index_elements=[n.c.message_uuid])
        .returning(*notify_columns(True))
    )


_SEND_CHECKPOINTED = _send_checkpointed()

_UNCONSUMED = (
    n.c.destination_uuid == bindparam("wf", type_=Text),
    n.c.topic == bindparam("p_topic", type_=Text),
    n.c.consumed.is_(false()),
)

# The oldest unconsumed message, marked consumed in the same statement. SKIP LOCKED
# (Postgres; SQLite serializes writers instead) lets a concurrent recv take the next one
# rather than wait; ``consumed IS false`` is repeated outside so a row consumed meanwhile
# is not taken twice.
_OLDEST = (
    select(n.c.seq)
    .where(*_UNCONSUMED)
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


def _consume_checkpointed() -> Any:
    """Postgres: take the oldest message, only if the workflow is PENDING (else a
    message would be consumed with no checkpoint), and record it as the checkpoint's
    output; returns the message, or no row."""
    taken = (
        update(n)
        .where(n.c.seq == _OLDEST, n.c.consumed.is_(false()), WORKFLOW_PENDING)
        .values(consumed=true())
        .returning(n.c.message)
        .cte("taken")
    )
    return (
        postgresql.insert(operation_outputs)
        .from_select(CHECKPOINT_COLUMNS, checkpoint_values(taken.c.message).select_from(taken))
        .add_cte(taken)
        .returning(operation_outputs.c.output)
    )


_CONSUME_CHECKPOINTED = _consume_checkpointed()

_WAITING = select(n.c.seq).where(*_UNCONSUMED).limit(1)

# send_messages: which of the destinations exist (one read for the whole batch).
EXISTING_DESTINATIONS = select(workflow_status.c.workflow_uuid).where(
    workflow_status.c.workflow_uuid.in_(bindparam("destinations", expanding=True))
)

_STATUS = select(workflow_status.c.status).where(
    workflow_status.c.workflow_uuid == bindparam("wf", type_=Text)
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
        params = {
            "message_uuid": message_id if message_id is not None else uuid.uuid4().hex,
            "destination": destination_id,
            "topic": _stored_topic(topic),
            "message": message,
            "now": now_ms,
            NOTIFY_KEY: message_key(destination_id, topic),
        }
        on_error = OnError(missing=("`send` destination", destination_id))
        if checkpoint is None:
            stmt = SEND[(self._db.dialect_name, self._db.notify)]
            return bool(self._db.execute_one(stmt, params, on_error))
        sender, recorded = checkpoint
        on_error = attrs.evolve(on_error, checkpoint=(sender, recorded.function_id))
        if self._db.dialect_name == "postgresql":
            params.update(checkpoint_params(sender, recorded))
            if self._db.execute_one(_SEND_CHECKPOINTED, params, on_error):
                return True
            # Nothing sent: the checkpoint was not recorded, or (only possible with a
            # message id) it was and the message is an idempotent repeat.
            self._db.run(Mode.READ, lambda conn: _raise_unless_repeat(conn, sender, message_id))
            return False

        def work(conn: RawConnection) -> bool:
            write_checkpoint(conn, sender, recorded)
            return bool(conn.execute(SEND[("sqlite", False)], params).rowcount)

        return self._db.run_raw(Mode.WRITE, work, on_error, committed=lambda: True)

    def send_messages(
        self,
        messages: Sequence[OutgoingMessage],
        *,
        now_ms: int,
        checkpoint: tuple[str, Checkpoint] | None = None,
    ) -> list[bool]:
        """Send every message in one transaction: the checkpoint, then a check that every
        destination exists (else nothing is written), then one insert per message."""
        on_error = OnError()
        if checkpoint is not None:
            on_error = OnError(checkpoint=(checkpoint[0], checkpoint[1].function_id))
        notify = self._db.notify
        stmt = SEND[(self._db.dialect_name, notify)]

        def work(conn: Connection) -> list[bool]:
            if checkpoint is not None:
                write_checkpoint(conn, *checkpoint)
            destinations = sorted({m.destination_id for m in messages})
            if destinations:
                found = conn.execute(
                    EXISTING_DESTINATIONS, {"destinations": destinations}
                ).scalars()
                missing = sorted(set(destinations) - set(found))
                if missing:
                    # Raised inside the transaction: its rollback undoes the checkpoint.
                    raise DBOSNonExistentWorkflowError("`send` destination", ", ".join(missing))
            inserted = []
            for m in messages:
                result = conn.execute(stmt, message_params(m, now_ms))
                # With RETURNING (the notifying form) a row is an insert; else the rowcount.
                inserted.append(bool(result.fetchall()) if notify else bool(result.rowcount))
            return inserted

        sent = [True] * len(messages)  # what an in-doubt commit that happened did
        return self._db.run(Mode.WRITE, work, on_error, committed=lambda: sent)

    def consume_message(
        self, workflow_id: str, topic: str | None, checkpoint: Checkpoint
    ) -> str | None:
        """Take the oldest unconsumed message of (workflow, topic) and checkpoint it."""
        params = {"wf": workflow_id, "p_topic": _stored_topic(topic)}
        on_error = checkpoint_error_context(workflow_id, checkpoint)
        if self._db.dialect_name == "postgresql":
            params.update(checkpoint_params(workflow_id, checkpoint))
            rows = self._db.execute_returning(
                _CONSUME_CHECKPOINTED,
                params,
                on_error,
                committed=lambda: [(self._consumed(workflow_id, checkpoint),)],
                # In doubt: what the try took, if it committed (else None: wait again).
                settle=lambda: [(self._consumed(workflow_id, checkpoint),)],
            )
            taken = rows[0][0] if rows else None
            if taken is None:
                # Nothing taken: no message, or the workflow is not PENDING (an error,
                # as in record_checkpoint, only if there was a message to record).
                self._db.run(Mode.READ, lambda conn: _raise_if_blocked(conn, params))
                return None
            return str(taken)

        def work(conn: RawConnection) -> str | None:
            taken = conn.execute(_CONSUME, params).scalar()
            if taken is None:
                return None
            write_checkpoint(conn, workflow_id, attrs.evolve(checkpoint, output=taken))
            return str(taken)

        return self._db.run_raw(
            Mode.WRITE, work, on_error, committed=lambda: self._consumed(workflow_id, checkpoint)
        )

    def _consumed(self, workflow_id: str, checkpoint: Checkpoint) -> str | None:
        """The message an in-doubt consume that did commit took (from its checkpoint)."""
        return self.recorded_output(workflow_id, checkpoint.function_id)

    def recorded_output(self, workflow_id: str, function_id: int) -> str | None:
        """See ``CheckpointVerbs`` (a mixin of the same store)."""
        raise NotImplementedError

    def has_message(self, workflow_id: str, topic: str | None) -> bool:
        """Whether (workflow, topic) has an unconsumed message: a read, no lock taken."""
        return bool(self._db.fetch(_WAITING, {"wf": workflow_id, "p_topic": _stored_topic(topic)}))


def message_params(m: OutgoingMessage, now_ms: int) -> dict[str, Any]:
    """The parameters of ``SEND`` for one message of ``send_messages``."""
    return {
        "message_uuid": m.message_id if m.message_id is not None else uuid.uuid4().hex,
        "destination": m.destination_id,
        "topic": _stored_topic(m.topic),
        "message": m.message,
        "now": now_ms,
        NOTIFY_KEY: message_key(m.destination_id, m.topic),
    }


def _raise_unless_repeat(conn: Connection, sender: str, message_id: str | None) -> None:
    """Raise ``WorkflowNotPending`` unless the sender is PENDING and sent ``message_id``
    (which then was a repeat: the checkpoint was recorded, the message not inserted)."""
    if message_id is None or conn.execute(_STATUS, {"wf": sender}).scalar() != "PENDING":
        raise_not_pending(conn, sender)


def _raise_if_blocked(conn: Connection, params: dict[str, Any]) -> None:
    """Raise ``WorkflowNotPending`` if a message waits for a workflow not PENDING."""
    if conn.execute(_WAITING, params).first() is None:
        return
    status = conn.execute(_STATUS, params).scalar()
    if status != "PENDING":
        raise WorkflowNotPending(params["wf"], status)
