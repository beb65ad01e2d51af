"""``@DBOS.transaction``: a function run in one application-database transaction."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Literal, TypeVar

from sqlalchemy.orm import Session
from typing_extensions import ParamSpec

from transact._core.effects import RunTransaction
from transact._facade import loop_guard
from transact._facade.launched import runtime_for_call
from transact._runtime.appdb import ISOLATION_LEVELS
from transact._runtime.handlers.transactions import (
    current_session,
    in_transaction,
    require_app_db,
    run_with_session,
)
from transact._runtime.interpreter import perform
from transact._runtime.registry import REGISTRY
from transact._runtime.roles import NAME_ATTRIBUTE, check_roles, register_pending_roles
from transact._runtime.state import current_frame
from transact.errors import DBOSException

logger = logging.getLogger("dbos")
P = ParamSpec("P")
R = TypeVar("R")


def make_transaction(
    func: Callable[P, R], isolation_level: str, name: str | None
) -> Callable[P, R]:
    """Wrap ``func`` as a transaction (see ``DBOS.transaction``)."""
    txn_name = name or func.__qualname__
    if inspect.iscoroutinefunction(func):
        raise DBOSException(
            f"Function {txn_name} is a coroutine function, but DBOS.transaction does not "
            "support coroutine functions"
        )
    REGISTRY.add_step(txn_name)

    @functools.wraps(func)
    def transaction_wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if loop_guard.loop_running():  # DBOS only warns here
            logger.warning(
                "Transaction %s was called while an event loop is running. Invoke "
                "transactions from an async context using asyncio.to_thread to avoid "
                "blocking the event loop.",
                txn_name,
            )
        frame = current_frame()
        if frame is not None and frame.step_id is not None:
            raise AssertionError("Transactions must be called from within workflows")
        if frame is None:  # outside any workflow: one transaction, nothing recorded
            app = require_app_db(runtime_for_call(txn_name).app_db)
            plain: R = in_transaction(
                app, isolation_level, lambda s: run_with_session(s, func, *args, **kwargs)
            )
            return plain
        check_roles(txn_name, frame.workflow.authenticated_roles)
        result: R = perform(
            frame.workflow, RunTransaction(txn_name, func, args, kwargs, isolation_level)
        )
        return result

    setattr(transaction_wrapper, NAME_ATTRIBUTE, txn_name)
    register_pending_roles(func, txn_name)
    return transaction_wrapper


def sql_session() -> Session:
    """The session of the running transaction; ``AssertionError`` anywhere else (DBOS's)."""
    session = current_session.get()
    if session is None:
        raise AssertionError("db is only available within a transaction.")
    return session


def transaction(
    isolation_level: Literal["SERIALIZABLE", "REPEATABLE READ", "READ COMMITTED"] = "SERIALIZABLE",
    *,
    name: str | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a transaction on the application database (``application_database_url``).

    Inside a workflow it runs exactly once: its outcome is recorded in the same commit as
    its writes, then checkpointed; serialization failures are retried. Outside a workflow
    it is one plain transaction. Use ``DBOS.sql_session`` inside. Raises ``ValueError``
    for an unknown isolation level.
    """
    if isolation_level not in ISOLATION_LEVELS:
        raise ValueError(
            f"isolation_level must be one of {ISOLATION_LEVELS}, got {isolation_level!r}"
        )

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        return make_transaction(func, isolation_level, name)

    return decorate


__all__ = ["make_transaction", "sql_session", "transaction"]
