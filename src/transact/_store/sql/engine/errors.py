"""Driver exceptions to ``transact.errors``: the one place the SQL stores translate them.

A constraint violation is recognised by the constraint it broke (Postgres reports the
constraint name; SQLite reports ``UNIQUE constraint failed: <table>.<column>, ...`` or
``FOREIGN KEY constraint failed``), then turned into the error the ``Store`` protocol
promises, using what the failing verb said about itself (:class:`OnError`). Everything
else becomes ``DBOSInitializationError`` (cannot connect) or ``DBOSException``, naming the
database URL with its password hidden.
"""

from __future__ import annotations

import enum

import attrs
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from transact._store.errors import CheckpointConflict
from transact._store.records import WorkflowRecord
from transact._store.sql.schema import tables as schema
from transact.errors import (
    DBOSConflictingWorkflowError,
    DBOSException,
    DBOSInitializationError,
    DBOSNonExistentWorkflowError,
    DBOSQueueDeduplicatedError,
)

__all__ = ["OnError", "Phase", "Violation", "classify", "is_transient", "safe_url", "translate"]


class Violation(enum.Enum):
    """Which integrity rule a write broke."""

    CHECKPOINT = "checkpoint position taken"
    DEDUP = "deduplication id taken"
    WORKFLOW_ID = "workflow id taken"
    STREAM_OFFSET = "stream offset taken"
    MESSAGE_ID = "message id taken"
    FOREIGN_KEY = "workflow missing"
    OTHER = "other"


class Phase(enum.Enum):
    """How far a transaction got when it failed (decides whether a retry is safe)."""

    CONNECT = "connect"  # no connection yet: nothing was sent
    EXECUTE = "execute"  # statements sent, no COMMIT yet
    COMMIT = "commit"  # COMMIT sent: the outcome is unknown if the connection dropped


@attrs.frozen
class OnError:
    """What a verb tells the translator about itself, to name its errors precisely."""

    checkpoint: tuple[str, int] | None = None
    """(workflow id, function id) of the checkpoint it writes: a PK clash is a conflict."""
    record: WorkflowRecord | None = None
    """The WorkflowRecord it inserts: a dedup clash names its queue and dedup id."""
    missing: tuple[str, str] | None = None
    """(what, workflow id) to name in DBOSNonExistentWorkflowError on a FK violation."""
    duplicate_id: str | None = None
    """A workflow id whose PK clash is a DBOSConflictingWorkflowError (fork)."""


_SQLITE_TABLES = {
    "operation_outputs.": Violation.CHECKPOINT,
    "streams.": Violation.STREAM_OFFSET,
    "notifications.": Violation.MESSAGE_ID,
}
_PG_CONSTRAINTS = {
    schema.CHECKPOINT_PK: Violation.CHECKPOINT,
    schema.DEDUP_INDEX: Violation.DEDUP,
    schema.WORKFLOW_PK: Violation.WORKFLOW_ID,
    schema.STREAM_PK: Violation.STREAM_OFFSET,
    schema.MESSAGE_ID_UNIQUE: Violation.MESSAGE_ID,
}


def classify(exc: IntegrityError) -> Violation:
    """The rule ``exc`` broke, for either driver."""
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:  # psycopg
        if getattr(orig, "sqlstate", None) == "23503":
            return Violation.FOREIGN_KEY
        return _PG_CONSTRAINTS.get(diag.constraint_name or "", Violation.OTHER)
    message = str(orig)
    if "FOREIGN KEY constraint failed" in message:
        return Violation.FOREIGN_KEY
    _, _, columns = message.partition("constraint failed: ")
    if columns.startswith("workflow_status."):
        return Violation.DEDUP if "deduplication_id" in columns else Violation.WORKFLOW_ID
    for prefix, violation in _SQLITE_TABLES.items():
        if columns.startswith(prefix):
            return violation
    return Violation.OTHER


# SQLSTATEs after which the server has rolled the transaction back (or never started
# it), so running the whole transaction again is safe: connection exceptions (08xxx),
# server shutting down or starting (57P01-57P03), too many connections (53300),
# serialization failure and deadlock (40001, 40P01).
_PG_TRANSIENT_PREFIXES = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01")
_PG_TRANSIENT_FATAL = (
    "starting up",
    "shutting down",
    "too many",
    "in recovery",
    "terminating connection",
    "not yet accepting connections",  # replaying its WAL after a crash
)
# 57P01/57P02: the server ended the session (pg_terminate_backend, a restart) and sent
# that as the answer to the statement, so the statement's transaction was aborted.
_PG_ROLLED_BACK = ("40001", "40P01", "53300", "57P01", "57P02", "57P03")


def is_transient(exc: SQLAlchemyError) -> bool:
    """Whether ``exc`` may go away on its own (a dropped connection, a busy database)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return str(sqlstate).startswith(_PG_TRANSIENT_PREFIXES)
    module = type(orig).__module__
    if module.startswith("psycopg"):
        # No SQLSTATE: libpq failed to connect or lost the connection. A FATAL answer
        # from the server (no such database or role, bad password) will not go away,
        # unless the server is starting, stopping or full.
        if type(orig).__name__ != "OperationalError":
            return False
        message = str(orig)
        return "FATAL:" not in message or any(t in message for t in _PG_TRANSIENT_FATAL)
    message = str(orig)
    return "database is locked" in message or "database is busy" in message


def nothing_committed(exc: SQLAlchemyError, phase: Phase, autocommit: bool) -> bool:
    """Whether a failed transaction certainly wrote nothing (so re-running it is safe)."""
    if phase is Phase.CONNECT:
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate in _PG_ROLLED_BACK:
        return True
    if "database is locked" in str(getattr(exc, "orig", "")):
        return True  # SQLite refused the lock or the COMMIT; the transaction is intact
    # A connection lost mid-transaction took the uncommitted transaction with it, unless
    # each statement commits by itself (autocommit) or the COMMIT was already sent.
    return phase is Phase.EXECUTE and not autocommit


def safe_url(url: URL) -> str:
    """``url`` as text with the password replaced by ``***``."""
    return url.render_as_string(hide_password=True)


def _scrub(text: str, url: URL) -> str:
    password = url.password
    if password:
        text = text.replace(str(password), "***")
    return text


def _driver_message(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def translate(exc: SQLAlchemyError, on_error: OnError, url: URL, phase: Phase) -> BaseException:
    """The ``transact`` error to raise for driver error ``exc``."""
    if isinstance(exc, IntegrityError):
        violation = classify(exc)
        if violation is Violation.CHECKPOINT and on_error.checkpoint is not None:
            return CheckpointConflict(*on_error.checkpoint)
        record = on_error.record
        if violation is Violation.DEDUP and record is not None:
            return DBOSQueueDeduplicatedError(
                record.workflow_id, record.queue_name or "", record.deduplication_id or ""
            )
        if violation is Violation.WORKFLOW_ID and on_error.duplicate_id is not None:
            return DBOSConflictingWorkflowError(
                on_error.duplicate_id, "a workflow with this id already exists"
            )
        if violation is Violation.FOREIGN_KEY and on_error.missing is not None:
            return DBOSNonExistentWorkflowError(*on_error.missing)
    where = _scrub(safe_url(url), url)
    detail = _scrub(_driver_message(exc), url)
    if phase is Phase.CONNECT and isinstance(exc, DBAPIError):
        return DBOSInitializationError(f"cannot connect to the system database {where}: {detail}")
    return DBOSException(f"system database error ({where}): {detail}")
