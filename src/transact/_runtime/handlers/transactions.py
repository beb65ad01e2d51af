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
from transact._runtime.recording import digest_of, record, record_outcome, replay_outcome
from transact._runtime.state import Frame, WorkflowState, enter, leave
from transact._serialization import serialize_value
from transact.errors import DBOSException

current_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "transact_sql_session", default=None
)

_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock
_MAX_RETRY_DELAY = 2.0


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


def in_transaction(app: AppDatabase, isolation_level: str, body: Callable[[Session], Any]) -> Any:
    """Run ``body(session)`` in one transaction, retrying serialization failures."""
    delay = 0.001
    while True:
        try:
            with Session(app.engine) as session, session.begin():
                if app.is_postgres:
                    # The first statement of the transaction, so it applies to all of it.
                    session.execute(text(f"SET TRANSACTION ISOLATION LEVEL {isolation_level}"))
                return body(session)
        except DBAPIError as exc:
            if not _retriable(exc):
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
        args_digest=digest_of(state, function_id),
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
