"""``SQLAlchemyDatasource`` and ``AsyncSQLAlchemyDatasource`` (DBOS 3): exactly-once
transactions on any SQLite or Postgres database, beside ``@DBOS.transaction``.

A datasource wraps a SQLAlchemy engine and its sessionmaker. Inside a workflow each of
its transactions is one step: the outcome is written to the datasource's own
``datasource_outputs`` table in the same transaction as the user's writes, then
checkpointed in the system database, so a recovered workflow never runs it twice (the
handler is the one of ``@DBOS.transaction``, given the datasource as its target).
Outside a workflow (or inside a step) it is one plain transaction, recorded nowhere.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypedDict, TypeVar, cast, overload

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker
from typing_extensions import ParamSpec

from transact._core.effects import Effect, RunTransaction
from transact._facade.launched import runtime_or_none
from transact._runtime.appdb import ISOLATION_LEVELS
from transact._runtime.async_driver import perform_async
from transact._runtime.async_transactions import current_async_session, in_transaction_async
from transact._runtime.datasource_db import DatasourceDatabase, async_url, sync_url
from transact._runtime.handlers.transactions import current_session, in_transaction
from transact._runtime.interpreter import perform
from transact._runtime.registry import REGISTRY
from transact._runtime.state import current_frame
from transact._serialization import Serializer
from transact.errors import DBOSException

P = ParamSpec("P")
R = TypeVar("R")

IsolationLevel = Literal["SERIALIZABLE", "REPEATABLE READ", "READ COMMITTED"]


class DatasourceOptions(TypedDict, total=False):
    """The options of ``run_tx_step``: the step's name and the isolation level."""

    name: str
    isolation_level: IsolationLevel


# Which datasource's transaction is running in this context (its ``sql_session`` checks).
_active: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "transact_active_datasource", default=None
)


def _check_not_launched() -> None:
    if runtime_or_none() is not None:
        raise DBOSException("Datasources must be created before DBOS.launch()")


def _check_isolation(isolation_level: str) -> str:
    if isolation_level not in ISOLATION_LEVELS:
        raise ValueError(
            f"isolation_level must be one of {ISOLATION_LEVELS}, got {isolation_level!r}"
        )
    return isolation_level


def _check_no_binds(kw: dict[str, Any]) -> None:
    if kw.get("binds"):
        raise DBOSException(
            "A datasource sessionmaker must not set binds=: every statement in a "
            "datasource transaction must use the datasource's engine so it commits "
            "atomically with the step checkpoint"
        )


def _in_workflow_code() -> bool:
    frame = current_frame()
    return frame is not None and frame.step_id is None


class SQLAlchemyDatasource:
    """A synchronous datasource on a SQLAlchemy ``Engine`` (SQLite or Postgres).

    Build it with :meth:`create` (or from a ``sessionmaker`` bound to an engine) before
    ``DBOS.launch()``. Decorate synchronous functions with :meth:`transaction` and use
    :attr:`sql_session` inside them.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        schema: str | None = None,
        serializer: Serializer | None = None,
    ) -> None:
        if not isinstance(session_factory, sessionmaker):
            raise DBOSException("SQLAlchemyDatasource requires a sqlalchemy.orm.sessionmaker")
        _check_no_binds(session_factory.kw)
        engine = session_factory.kw.get("bind")
        if not isinstance(engine, Engine):
            raise DBOSException("SQLAlchemyDatasource requires a sqlalchemy.orm.sessionmaker")
        _check_not_launched()
        self.engine: Engine = engine
        self.sessionmaker = session_factory
        self._db = DatasourceDatabase(session_factory, engine, schema, serializer)

    @classmethod
    def create(
        cls,
        database_url: str,
        engine_kwargs: dict[str, Any] | None = None,
        engine: Engine | None = None,
        schema: str | None = None,
        serializer: Serializer | None = None,
    ) -> SQLAlchemyDatasource:
        """A datasource on ``engine`` or on a new engine for ``database_url`` (with
        ``engine_kwargs``); its ``datasource_outputs`` table is created if missing."""
        if engine is None:
            engine = create_engine(sync_url(database_url), **(engine_kwargs or {}))
        datasource = cls(sessionmaker(bind=engine), schema=schema, serializer=serializer)
        datasource.run_migrations()
        return datasource

    def run_migrations(self) -> None:
        """Create the schema (Postgres) and the ``datasource_outputs`` table (idempotent)."""
        with self.engine.begin() as connection:
            self._db.migrate(connection)

    @property
    def sql_session(self) -> Session:
        """The session of this datasource's running transaction."""
        session = current_session.get()
        if session is None or _active.get() is not self:
            raise AssertionError(
                "sql_session() must be called within a sync datasource transaction"
            )
        return session

    def run_tx_step(
        self, ds_options: DatasourceOptions, func: Callable[..., R], *args: Any, **kwargs: Any
    ) -> R:
        """Run ``func(*args, **kwargs)`` as one transaction of this datasource (a step,
        exactly once, inside workflow code)."""
        name = ds_options.get("name") or func.__qualname__
        if inspect.iscoroutinefunction(func):
            raise DBOSException(
                f"Function {name} is a coroutine; use AsyncDatasource.run_tx_step_async instead"
            )
        isolation = _check_isolation(ds_options.get("isolation_level", "SERIALIZABLE"))

        def bound(*a: Any, **k: Any) -> R:
            token = _active.set(self)
            try:
                return func(*a, **k)
            finally:
                _active.reset(token)

        if not _in_workflow_code():
            return in_transaction(  # type: ignore[no-any-return]
                self._db, isolation, lambda s: _with_session(s, bound, args, kwargs)
            )
        frame = current_frame()
        assert frame is not None
        effect = RunTransaction(name, bound, args, kwargs, isolation, target=self._db)
        return perform(frame.workflow, effect)

    @overload
    def transaction(self, func: Callable[P, R]) -> Callable[P, R]: ...

    @overload
    def transaction(
        self, func: None = None, *, name: str | None = None, isolation_level: IsolationLevel = ...
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def transaction(
        self,
        func: Callable[P, R] | None = None,
        *,
        name: str | None = None,
        isolation_level: IsolationLevel = "SERIALIZABLE",
    ) -> Any:
        """Declare a synchronous transaction of this datasource (``@ds.transaction`` or
        ``@ds.transaction(name=..., isolation_level=...)``)."""
        _check_isolation(isolation_level)

        def decorate(f: Callable[P, R]) -> Callable[P, R]:
            if inspect.iscoroutinefunction(f):
                raise DBOSException(
                    f"SyncDatasource.transaction requires a non-coroutine function, "
                    f"but {f.__qualname__} is a coroutine"
                )
            options = DatasourceOptions(
                name=name or f.__qualname__, isolation_level=isolation_level
            )
            REGISTRY.add_step(options["name"])

            @functools.wraps(f)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                return self.run_tx_step(options, f, *args, **kwargs)

            return wrapper

        return decorate if func is None else decorate(func)


def _with_session(
    session: Session, func: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> R:
    token = current_session.set(session)
    try:
        return func(*args, **kwargs)
    finally:
        current_session.reset(token)


class AsyncSQLAlchemyDatasource:
    """An asyncio datasource on a SQLAlchemy ``AsyncEngine`` (aiosqlite or psycopg async).

    Build it with ``await AsyncSQLAlchemyDatasource.create(url)`` before ``DBOS.launch()``.
    Decorate ``async def`` functions with :meth:`transaction` and use :attr:`sql_session`
    (an ``AsyncSession``) inside them; await them from async workflows.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        schema: str | None = None,
        serializer: Serializer | None = None,
    ) -> None:
        if not isinstance(session_factory, async_sessionmaker):
            raise DBOSException("AsyncSQLAlchemyDatasource requires an async_sessionmaker")
        _check_no_binds(session_factory.kw)
        engine = session_factory.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise DBOSException("AsyncSQLAlchemyDatasource requires an async_sessionmaker")
        _check_not_launched()
        self.engine: AsyncEngine = engine
        self.sessionmaker = session_factory
        self._db = DatasourceDatabase(session_factory, engine, schema, serializer)

    @classmethod
    async def create(
        cls,
        database_url: str,
        engine_kwargs: dict[str, Any] | None = None,
        engine: AsyncEngine | None = None,
        schema: str | None = None,
        serializer: Serializer | None = None,
    ) -> AsyncSQLAlchemyDatasource:
        """A datasource on ``engine`` or on a new async engine for ``database_url``; its
        ``datasource_outputs`` table is created if missing."""
        if engine is None:
            engine = create_async_engine(async_url(database_url), **(engine_kwargs or {}))
        datasource = cls(async_sessionmaker(bind=engine), schema=schema, serializer=serializer)
        await datasource.run_migrations()
        return datasource

    async def run_migrations(self) -> None:
        """Create the schema (Postgres) and the ``datasource_outputs`` table (idempotent)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self._db.migrate)

    @property
    def sql_session(self) -> AsyncSession:
        """The ``AsyncSession`` of this datasource's running transaction."""
        session = current_async_session.get()
        if session is None or _active.get() is not self:
            raise AssertionError(
                "sql_session() must be called within an async datasource transaction"
            )
        assert isinstance(session, AsyncSession)
        return session

    async def run_tx_step_async(
        self,
        ds_options: DatasourceOptions,
        func: Callable[..., Awaitable[R]],
        *args: Any,
        **kwargs: Any,
    ) -> R:
        """Await ``func(*args, **kwargs)`` as one transaction of this datasource (a step,
        exactly once, inside workflow code)."""
        name = ds_options.get("name") or func.__qualname__
        if not inspect.iscoroutinefunction(func):
            raise DBOSException(f"Function {name} must be a coroutine function for AsyncDatasource")
        isolation = _check_isolation(ds_options.get("isolation_level", "SERIALIZABLE"))

        async def bound(*a: Any, **k: Any) -> R:
            token = _active.set(self)
            try:
                return await func(*a, **k)
            finally:
                _active.reset(token)

        if not _in_workflow_code():

            async def body(session: AsyncSession) -> R:
                token = current_async_session.set(session)
                try:
                    return await bound(*args, **kwargs)
                finally:
                    current_async_session.reset(token)

            result: R = await in_transaction_async(self._db, isolation, body)
            return result
        frame = current_frame()
        assert frame is not None
        # The effect's result is what awaiting ``bound`` gives (the async driver awaits it).
        effect = cast(
            "Effect[R]", RunTransaction(name, bound, args, kwargs, isolation, target=self._db)
        )
        return await perform_async(frame.workflow, effect)

    @overload
    def transaction(self, func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...

    @overload
    def transaction(
        self, func: None = None, *, name: str | None = None, isolation_level: IsolationLevel = ...
    ) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]: ...

    def transaction(
        self,
        func: Callable[P, Awaitable[R]] | None = None,
        *,
        name: str | None = None,
        isolation_level: IsolationLevel = "SERIALIZABLE",
    ) -> Any:
        """Declare an ``async def`` transaction of this datasource (``@ads.transaction``
        or ``@ads.transaction(name=..., isolation_level=...)``)."""
        _check_isolation(isolation_level)

        def decorate(f: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            if not inspect.iscoroutinefunction(f):
                raise DBOSException(
                    f"AsyncDatasource.transaction requires a coroutine function, "
                    f"but {f.__qualname__} is not"
                )
            options = DatasourceOptions(
                name=name or f.__qualname__, isolation_level=isolation_level
            )
            REGISTRY.add_step(options["name"])

            @functools.wraps(f)
            async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                return await self.run_tx_step_async(options, f, *args, **kwargs)

            return wrapper

        return decorate if func is None else decorate(func)


__all__ = ["AsyncSQLAlchemyDatasource", "DatasourceOptions", "SQLAlchemyDatasource"]
