"""Transactions (``@DBOS.transaction`` and datasources): the user's writes and their
record commit together, once."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Effect, RunTransaction
from transact._runtime.appdb import AppDatabase, TransactionTarget
from transact._runtime.clock import now_ms
from transact._runtime.env import Env, Performer
from transact._runtime.recording import digest_of, record, record_outcome
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact._serialization import Serializer, deserialize_error, serialize_value

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
        raise AssertionError(  # DBOS's class and text
            "Transactions can only be used if DBOS is configured with an application_database_url"
        )
    return app_db


def target_of(env: Env, effect: RunTransaction[Any]) -> TransactionTarget:
    """The database the transaction runs on: its datasource or the application database."""
    target: TransactionTarget = (
        effect.target if effect.target is not None else require_app_db(env.app_db)
    )
    return target


def retriable(exc: DBAPIError) -> bool:
    """A serialization failure, a deadlock or a locked SQLite database: run it again."""
    code = getattr(exc.orig, "sqlstate", None)
    return code in _RETRY_SQLSTATES or "database is locked" in str(exc.orig)


def next_delay(delay: float) -> float:
    """The wait before the next retry (1 ms growing by half up to 2 s, as DBOS waits)."""
    return min(delay * 1.5, _MAX_RETRY_DELAY)


def isolation_statement(isolation_level: str) -> Any:
    """The first statement of a Postgres transaction, so that it applies to all of it."""
    return text(f"SET TRANSACTION ISOLATION LEVEL {isolation_level}")


def lost(exc: DBAPIError) -> bool:
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


def in_transaction(
    app: Any,
    isolation_level: str,
    body: Callable[[Session], Any],
    retrying: Callable[[str], None] | None = None,
) -> Any:
    """Run ``body(session)`` in one transaction on the target, retrying serialization
    failures and lost connections (telling ``retrying``, the tracing hook's ``event``,
    before each retry).

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
            with app.new_session() as session, session.begin():
                if app.is_postgres:
                    session.execute(isolation_statement(isolation_level))
                return guarded(session)
        except DBAPIError as exc:
            if own:
                raise own[0] from None  # the function's error; the rollback's is secondary
            if lost(exc):
                now = time.monotonic()
                deadline = deadline or now + CONNECTION_RETRY_SECONDS
                if now >= deadline:
                    raise
                delay = max(delay, 0.05)
            elif not retriable(exc):
                raise
            if retrying is not None:
                retrying("Transaction Failure")
            time.sleep(delay)
            delay = next_delay(delay)


def run_with_session(session: Session, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func`` with ``DBOS.sql_session`` bound to ``session``."""
    token = current_session.set(session)
    try:
        return func(*args, **kwargs)
    finally:
        current_session.reset(token)


def output_serializer(env: Env, target: TransactionTarget) -> Serializer:
    """How the target stores outputs in its own table."""
    return target.output_serializer or env.serializer


def finish(
    state: WorkflowState,
    function_id: int,
    effect: RunTransaction[Any],
    target: TransactionTarget,
    started: int,
    outcome: tuple[Any, Any, str | None],
) -> Any:
    """Checkpoint a committed transaction and return its result. ``outcome`` is
    ``(found, result, output)``: ``found`` is the ``(output, error)`` row a previous
    execution committed (its recorded outcome is used instead of running again)."""
    env = state.env
    found, result, output = outcome
    stored_with = output_serializer(env, target)
    if found is not None:
        if found.error is not None:
            error = deserialize_error(stored_with, found.error)
            if not isinstance(error, Exception):
                raise error
            return record_outcome(state, function_id, effect.name, started, None, error)
        output = found.output
        result = None if output is None else stored_with.deserialize(output)
    if stored_with is not env.serializer:
        output = serialize_value(env.serializer, result, f"the result of transaction {effect.name}")
    record(
        state,
        Checkpoint(
            function_id,
            effect.name,
            args_digest=digest_of(state, function_id),
            output=output,
            started_at_epoch_ms=started,
            completed_at_epoch_ms=now_ms(env.clock),
        ),
    )
    return result


def output_row(
    state: WorkflowState,
    function_id: int,
    effect: RunTransaction[Any],
    target: TransactionTarget,
    result: Any,
) -> tuple[str, Executable]:
    """The transaction's output and the statement that writes it to the target's table
    (executed by the caller in the user's transaction)."""
    env = state.env
    stored_with = output_serializer(env, target)
    output = serialize_value(stored_with, result, f"the result of transaction {effect.name}")
    statement = target.output_insert(
        state.workflow_id, function_id, effect.name, output, stored_with.name(), now_ms(env.clock)
    )
    return output, statement


def execute_transaction(state: WorkflowState, function_id: int, effect: RunTransaction[Any]) -> Any:
    """Run the transaction and record it in its database in the same commit; then
    checkpoint it. If a previous execution committed it but crashed before the
    checkpoint, its recorded outcome is used instead of running it again."""
    env = state.env
    target = target_of(env, effect)
    started = now_ms(env.clock)
    recording = [False]  # set while the output row is inserted

    def body(session: Session) -> tuple[Any, Any, str | None]:
        found = session.execute(target.output_query(state.workflow_id, function_id)).first()
        if found is not None:
            return found, None, None
        token = enter(Frame(state, step_id=function_id))
        try:
            result = run_with_session(session, effect.func, *effect.args, **effect.kwargs)
        finally:
            leave(token)
        output, statement = output_row(state, function_id, effect, target, result)
        recording[0] = True
        session.execute(statement)
        return None, result, output

    tracing = state.env.tracing
    try:
        with tracing.operation("transaction", effect.name, state.workflow_id):
            try:
                outcome = in_transaction(target, effect.isolation_level, body, tracing.event)
            except IntegrityError:
                if not recording[0]:
                    raise
                # Another execution of this workflow committed this transaction first:
                # its row is there now, and running once more returns its outcome.
                outcome = in_transaction(target, effect.isolation_level, body, tracing.event)
    except Exception as exc:  # rolled back: nothing of it was committed
        return record_outcome(state, function_id, effect.name, started, None, exc)
    return finish(state, function_id, effect, target, started, outcome)


# This module's rows of the performers table (``transact._runtime.performers``).
PERFORMERS: dict[type[Effect[Any]], Performer] = {
    RunTransaction: Performer(execute_transaction),
}
