"""``@DBOS.transaction``: the user's writes and their record commit together, once."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Effect, RunTransaction
from transact._runtime.appdb import AppDatabase, transaction_outputs
from transact._runtime.clock import now_ms
from transact._runtime.env import Performer
from transact._runtime.recording import record, record_outcome, replay_outcome
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact._serialization import serialize_value
from transact.errors import DBOSException

current_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "transact_sql_session", default=None
)

_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock
_MAX_RETRY_DELAY = 2.0
# Connection exceptions, and the server ending the session (shutdown, restart, crash).
_LOST_SQLSTATE_PREFIXES = ("08", "57P01", "57P02", "57P03")
_SERVER_AWAY = (
    "starting up",
    "shutting down",
    "not yet accepting connections",
    "in recovery",
    "too many",
    "terminating connection",
)
CONNECTION_RETRY_SECONDS = 60.0
"""How long a transaction whose connection was lost is retried while the application
database is away."""


def require_app_db(app_db: AppDatabase | None) -> AppDatabase:
    """The application database, or a clear error when none is configured."""
    if app_db is None:
        raise DBOSException(
            "@DBOS.transaction needs an application database: set "
            "'application_database_url' in DBOSConfig"
        )
    return app_db


def _retriable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in _RETRY_SQLSTATES or "database is locked" in str(exc.orig)


def _lost(exc: DBAPIError) -> bool:
    """Whether ``exc`` is the connection going away (the server restarting or crashing,
    the network), which a later attempt may not meet."""
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None)
    if code is not None:
        return str(code).startswith(_LOST_SQLSTATE_PREFIXES)
    # psycopg without a SQLSTATE: libpq lost the connection or could not connect. A
    # FATAL answer is lasting (a wrong database or role) unless the server is starting,
    # stopping, recovering or full.
    message = str(exc.orig)
    if not type(exc.orig).__module__.startswith("psycopg"):
        return False
    return "FATAL:" not in message or any(t in message for t in _SERVER_AWAY)


def in_transaction(app: AppDatabase, isolation_level: str, body: Callable[[Session], Any]) -> Any:
    """Run ``body(session)`` in one transaction, retrying serialization failures and
    lost connections.

    A connection lost before the COMMIT took the transaction with it; lost during the
    COMMIT, the commit is in doubt. Either way the whole transaction runs again: ``body``
    first looks for the outcome row its commit writes, so a commit that did happen is
    found, not run twice. An error raised by the function itself is raised as is, even
    if the rollback after it failed on a lost connection.
    """
    delay = 0.001
    deadline: float | None = None
    own: list[BaseException] = []  # the function's own error, if it raised one

    def guarded(session: Session) -> Any:
        try:
            return body(session)
        except DBAPIError:
            raise
        except Exception as exc:
            own.append(exc)
            raise

    while True:
        try:
            with Session(app.engine) as session, session.begin():
                if app.is_postgres:
                    # The first statement of the transaction, so it applies to all of it.
                    session.execute(text(f"SET TRANSACTION ISOLATION LEVEL {isolation_level}"))
                return guarded(session)
        except DBAPIError as exc:
            if own:
                raise own[0] from None  # the function's error; the rollback's is secondary
            if _lost(exc):
                now = time.monotonic()
                deadline = deadline or now + CONNECTION_RETRY_SECONDS
                if now >= deadline:
                    raise
                delay = max(delay, 0.05)
            elif not _retriable(exc):
                raise
            time.sleep(delay)
            delay = min(delay * 1.5, _MAX_RETRY_DELAY)


def run_with_session(session: Session, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func`` with ``DBOS.sql_session`` bound to ``session``."""
    token = current_session.set(session)
    try:
        return func(*args, **kwargs)
    finally:
        current_session.reset(token)


def execute_transaction(state: WorkflowState, function_id: int, effect: RunTransaction[Any]) -> Any:
    """Run the transaction and record it in the app database in the same commit; then
    checkpoint it. If a previous execution committed it but crashed before the
    checkpoint, its recorded outcome is used instead of running it again."""
    env = state.env
    app = require_app_db(env.app_db)
    started = now_ms(env.clock)
    key = (transaction_outputs.c.workflow_uuid == state.workflow_id) & (
        transaction_outputs.c.function_id == function_id
    )

    def body(session: Session) -> tuple[bool, Any, str | None]:
        found = session.execute(
            select(transaction_outputs.c.output, transaction_outputs.c.error).where(key)
        ).first()
        if found is not None:
            return True, None, found.output
        token = enter(Frame(state, step_id=function_id))
        try:
            result = run_with_session(session, effect.func, *effect.args, **effect.kwargs)
        finally:
            leave(token)
        output = serialize_value(env.serializer, result, f"the result of transaction {effect.name}")
        session.execute(
            insert(transaction_outputs).values(
                workflow_uuid=state.workflow_id,
                function_id=function_id,
                function_name=effect.name,
                output=output,
                created_at=now_ms(env.clock),
            )
        )
        return False, result, output

    try:
        replayed, result, output = in_transaction(app, effect.isolation_level, body)
    except Exception as exc:  # rolled back: nothing of it was committed
        return record_outcome(state, function_id, effect.name, started, None, exc)
    checkpoint = Checkpoint(
        function_id,
        effect.name,
        output=output,
        started_at_epoch_ms=started,
        completed_at_epoch_ms=now_ms(env.clock),
    )
    record(state, checkpoint)
    return replay_outcome(state, function_id, checkpoint, effect) if replayed else result


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    RunTransaction: Performer(execute_transaction),
}
