"""Writes on a transaction the caller owns (``DBOSClient.enqueue_in_transaction``,
``send_in_transaction``, ``send_bulk_in_transaction``).

The caller's SQLAlchemy connection (or session) is open on the system database; these
functions run the store's own statements on it and never commit, so the rows appear
when, and only if, the caller's transaction commits. On Postgres the wake-ups ride on
the same transaction (``pg_notify`` is delivered at commit; on SQLite the change log's
triggers write in it, read by other processes once it commits).

A statement that fails on Postgres aborts the transaction around it, so an insert that
may break the deduplication index runs under a savepoint: the caller can catch
``DBOSQueueDeduplicatedError`` and still commit the rest of its work. (A failed
statement on SQLite leaves its transaction usable; no savepoint is needed there.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from transact._store.records import OutgoingMessage, WorkflowRecord
from transact._store.sql.engine.errors import OnError, Phase, translate
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.verbs.messages import EXISTING_DESTINATIONS, SEND, message_params
from transact._store.sql.verbs.notify import NOTIFY_KEY, queue_key
from transact._store.sql.verbs.workflow_insert import insert_or_attach
from transact._store.sql.verbs.workflow_rows import record_values
from transact._store.sql.verbs.workflows import read_workflow
from transact.errors import DBOSException, DBOSNonExistentWorkflowError

__all__ = ["caller_connection", "insert_workflow", "send_messages"]

_DIALECTS = ("postgresql", "sqlite")


def caller_connection(conn_or_session: Any) -> Connection:
    """The SQLAlchemy ``Connection`` of ``conn_or_session`` (a ``Session`` gives the one
    of its current transaction). ``DBOSException`` for anything else, or a database that
    is neither Postgres nor SQLite."""
    if isinstance(conn_or_session, Session):
        conn = conn_or_session.connection()
    elif isinstance(conn_or_session, Connection):
        conn = conn_or_session
    else:
        raise DBOSException(
            "Expected a SQLAlchemy Connection or Session on the system database, got "
            f"{type(conn_or_session).__name__}"
        )
    if conn.dialect.name not in _DIALECTS:
        raise DBOSException(f"Unsupported system database dialect {conn.dialect.name!r}")
    return conn


def _options(conn: Connection) -> dict[str, Any]:
    # The caller's engine does not map the tables' schema as the store's engine does;
    # passed per statement, so the caller's connection keeps its own options.
    if conn.dialect.name == "postgresql":
        return {"schema_translate_map": {None: POSTGRES_SCHEMA}}
    return {}


def insert_workflow(
    conn: Connection, record: WorkflowRecord, *, fresh_id: bool = False
) -> tuple[WorkflowRecord, bool]:
    """Insert ``record`` on ``conn`` (uncommitted), or return the row already holding its
    id; as ``Store.insert_workflow`` (``fresh_id`` too). A row it inserts on a queue
    wakes that queue's runners in every process once the transaction commits (Postgres:
    the insert's own ``pg_notify``; SQLite's runners find it at their poll).
    ``DBOSQueueDeduplicatedError`` on a taken deduplication id, with the caller's
    transaction still usable."""
    announce = conn.dialect.name == "postgresql" and record.queue_name is not None
    stmt = insert_or_attach(conn.dialect.name, fresh_id=fresh_id, announce=announce)
    values = record_values(record)
    if announce:
        values[NOTIFY_KEY] = queue_key(str(record.queue_name))
    guarded = conn.dialect.name == "postgresql" and record.deduplication_id is not None
    try:
        if guarded:
            with conn.begin_nested():
                inserted = conn.execute(stmt, values, execution_options=_options(conn)).rowcount
        else:
            inserted = conn.execute(stmt, values, execution_options=_options(conn)).rowcount
    except IntegrityError as exc:
        raise translate(exc, OnError(record=record), conn.engine.url, Phase.EXECUTE) from None
    if inserted:
        return record, True
    existing = read_workflow(
        conn, record.workflow_id, execution_options=_options(conn), load_output=False
    )
    if existing is None:  # only an uncommitted delete in this very transaction does this
        raise DBOSException(f"Workflow {record.workflow_id} could not be inserted")
    return existing, False


def send_messages(conn: Connection, messages: Sequence[OutgoingMessage], now_ms: int) -> list[bool]:
    """Insert every message on ``conn`` (uncommitted); whether each was new (a repeated
    message id is not). ``DBOSNonExistentWorkflowError`` naming every missing
    destination, before anything is inserted."""
    options = _options(conn)
    destinations = sorted({m.destination_id for m in messages})
    if destinations:
        found = conn.execute(
            EXISTING_DESTINATIONS, {"destinations": destinations}, execution_options=options
        ).scalars()
        missing = sorted(set(destinations) - set(found))
        if missing:
            raise DBOSNonExistentWorkflowError("`send` destination", ", ".join(missing))
    notify = conn.dialect.name == "postgresql"
    stmt = SEND[(conn.dialect.name, notify)]
    inserted = []
    for m in messages:
        result = conn.execute(stmt, message_params(m, now_ms), execution_options=options)
        # With RETURNING (the notifying form) a row is an insert; else the rowcount.
        inserted.append(bool(result.fetchall()) if notify else bool(result.rowcount))
    return inserted
