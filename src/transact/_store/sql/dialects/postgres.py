"""The Postgres store: many executors on many hosts share one database.

- URLs ``postgresql://``, ``postgres://`` and ``postgresql+<driver>://`` all run on
  psycopg 3. Tables live in schema ``transact`` (mapped with ``schema_translate_map``).
- Single-statement verbs (``record_checkpoint``, ``finish_workflow``, ...) run in
  autocommit: the statement is its own transaction, one round trip with no BEGIN or
  COMMIT. Concurrent checkpoints, and concurrent outcomes, are written many at a time
  by one statement (``batching.py``). Multi-statement verbs use a short READ COMMITTED
  transaction.
- ``migrate()`` creates the database if it is missing, then migrates under
  ``pg_advisory_xact_lock``, so concurrent migrators queue.
- ``subscribe()`` starts a LISTEN thread (``listener.py``); writers others may wait on
  notify in the same statement (``notify.py``). Workflows' outcomes are notified on a
  channel of their own, which a process LISTENs to (on a second connection) from its
  first wait for a result (``listen_for_outcomes``; finishes notify only while some
  session is registered as listening there); enqueues too, which a process
  LISTENs to (on a third) once it serves queues (``serve_queue``), that session holding
  a presence lock per queue served, by which claims count a queue's live workers.
"""

from __future__ import annotations

import threading
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from transact._store.protocol import NotifyCallback, Store
from transact._store.sql.dialects.listener import Listener, Registration
from transact._store.sql.dialects.postgres_session import APPLICATION_NAME, configure_session
from transact._store.sql.engine.backend import Backend, Mode
from transact._store.sql.engine.errors import OnError, Phase, safe_url, translate
from transact._store.sql.schema.outcome_listeners import REGISTER, UNREGISTER
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.store import SQLStore
from transact._store.sql.verbs.coalesced_notices import stream_notices
from transact._store.sql.verbs.notify import CHANNEL, OUTCOME_CHANNEL, QUEUE_CHANNEL
from transact._store.sql.verbs.queue_statistics import StaleStatistics
from transact._store.sql.verbs.queues import presence_key
from transact.errors import DBOSInitializationError

__all__ = ["PostgresStore", "open_postgres_store"]

# Any fixed key works, as long as every transact process uses the same one.
MIGRATION_LOCK_KEY = 0x7472_616E_7361_6374  # "transact"

_DEFAULT_CONNECT_TIMEOUT_S = 10
_LISTEN_WAIT_SECONDS = 2.0

OUTCOME_REGISTRATION = Registration(REGISTER, UNREGISTER)
"""What the outcome listener's session runs: its row in ``transact.outcome_listeners``."""


class PostgresStore(SQLStore):
    """The SQL store on a Postgres database (see the module docstring)."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self._listener: Listener | None = None
        self._on_notify: NotifyCallback | None = None
        # The listeners of the outcome and queue channels, by name, started by the
        # first ``listen_for_outcomes`` and ``serve_queue``.
        self._extra: dict[str, Listener] = {}
        self._extra_lock = threading.Lock()
        self._statistics = StaleStatistics(self._analyze_workflows)
        self._notices = stream_notices(self.publish)

    @property
    def database(self) -> str:
        """The name of the system database."""
        return self._db.url.database or ""

    def _prepare_database(self) -> None:
        """Create the database if it does not exist (racing creators are fine)."""
        try:
            # Connecting is retried while the server is starting or unreachable.
            self._db.run(Mode.READ, lambda conn: None)
            return
        except DBOSInitializationError as exc:
            missing = f'database "{self.database}" does not exist'
            if missing not in str(getattr(exc.__cause__, "orig", "")):
                raise
        self._admin(f"CREATE DATABASE {self._quoted_database()}", ignore=("42P04", "23505"))

    def _lock_migrations(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {POSTGRES_SCHEMA}")

    def subscribe(self, on_notify: NotifyCallback) -> bool:
        """Start the LISTEN thread delivering ``pg_notify`` keys to ``on_notify``; True."""
        if self._listener is None:
            self._on_notify = on_notify
            self._listener = self._listen(CHANNEL, on_notify)
        return True

    def listen_for_outcomes(self) -> None:
        """Start (once) a LISTEN thread on the outcome channel, and wait until it
        listens and its session is registered as listening, which makes finishes
        notify (see ``Store`` and ``schema/outcome_listeners.py``)."""
        self._listen_also("outcomes", OUTCOME_CHANNEL, OUTCOME_REGISTRATION)

    def serve_queue(self, queue_name: str) -> None:
        """Start (once) a LISTEN thread on the queue channel and wait until it listens;
        have its session hold ``queue_name``'s presence lock (see ``Store``)."""
        listener = self._listen_also("queues", QUEUE_CHANNEL)
        if listener is not None:
            listener.present(presence_key(queue_name))

    def retire_queue(self, queue_name: str) -> None:
        """Drop ``queue_name``'s presence lock (see ``Store``)."""
        with self._extra_lock:
            listener = self._extra.get("queues")
        if listener is not None:
            listener.present(presence_key(queue_name), held=False)

    def _listen_also(
        self, name: str, channel: str, registration: Registration | None = None
    ) -> Listener | None:
        on_notify = self._on_notify
        if on_notify is None:
            return None
        with self._extra_lock:
            listener = self._extra.get(name)
            if listener is None:
                listener = self._extra[name] = self._listen(channel, on_notify, registration)
        # Not for ever: while the server is away the waiter's own reads fail and retry.
        listener.wait_connected(_LISTEN_WAIT_SECONDS)
        return listener

    def _listen(
        self, channel: str, on_notify: NotifyCallback, registration: Registration | None = None
    ) -> Listener:
        conninfo = self._db.url.set(drivername="postgresql").render_as_string(hide_password=False)
        listener = Listener(
            conninfo, channel, on_notify, safe_url=safe_url(self._db.url), registration=registration
        )
        listener.start()
        return listener

    @property
    def listener(self) -> Listener | None:
        """The LISTEN thread, once :meth:`subscribe` started it."""
        return self._listener

    def close(self) -> None:
        """Stop the LISTEN threads and close every pooled connection."""
        with self._extra_lock:
            extra, self._extra = list(self._extra.values()), {}
        for listener in (self._listener, *extra):
            if listener is not None:
                listener.stop()
        self._listener = None
        self._notices.stop()
        super().close()

    def drop_database(self) -> None:
        """Drop the system database, closing every session still using it.

        The store's own connections are closed first; ``migrate()`` creates the database
        again. Raises ``DBOSException`` if the server refuses.
        """
        self._db.dispose()
        self._admin(f"DROP DATABASE IF EXISTS {self._quoted_database()} WITH (FORCE)")

    def _quoted_database(self) -> str:
        return self._db.engine.dialect.identifier_preparer.quote_identifier(self.database)

    def _admin(self, statement: str, *, ignore: tuple[str, ...] = ()) -> None:
        """Run ``statement`` on the server's ``postgres`` database, in autocommit (CREATE
        and DROP DATABASE cannot run in a transaction). Errors with a SQLSTATE in
        ``ignore`` (a lost creation race) are ignored."""
        admin = create_engine(
            self._db.url.set(database="postgres"),
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args=_connect_args(self._db.url),
        )
        phase = Phase.CONNECT
        try:
            with admin.connect() as conn:
                phase = Phase.EXECUTE
                conn.exec_driver_sql(statement)
        except SQLAlchemyError as exc:
            if getattr(getattr(exc, "orig", None), "sqlstate", None) not in ignore or not ignore:
                raise translate(exc, OnError(), self._db.url, phase) from exc
        finally:
            admin.dispose()


def open_postgres_store(
    url: str, *, pool_size: int = 20, retry_timeout: float | None = None
) -> Store:
    """The store on the Postgres database ``url`` names, with a pool of ``pool_size``
    connections. Nothing is connected yet (``migrate()`` creates the database if it
    is missing). Raises ``DBOSInitializationError`` for a malformed URL."""
    parsed = _parse(url)
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=0,  # the pool is exactly pool_size; a verb holds one connection
        # The connection used last is handed out next: a sequential workflow keeps one
        # warm session (its server-side prepared statements, its backend's caches) rather
        # than cycling through all of them. ~10% of a step and of an empty workflow.
        pool_use_lifo=True,
        # A pool reused across a server restart finds its connections dead; SQLAlchemy
        # then invalidates the whole pool at once, so no per-checkout ping is needed.
        pool_pre_ping=False,
        # Connections idle in autocommit; multi-statement verbs switch to READ COMMITTED
        # for their transaction (see Backend).
        isolation_level="AUTOCOMMIT",
        # So a connection going back to the pool in autocommit (every one, once its
        # transaction is over) skips the pool's reset-on-return rollback: there is
        # nothing to roll back, and the hot path checks a connection in per statement.
        # One left in a transaction is still rolled back.
        skip_autocommit_rollback=True,
        connect_args=_connect_args(parsed),
        execution_options={"schema_translate_map": {None: POSTGRES_SCHEMA}},
    )
    # Every session plans with sequential scans off (see ``postgres_session.py``).
    event.listen(engine, "connect", configure_session)
    backend = Backend(
        engine,
        url=parsed,
        notify=True,
        autocommit=True,
        batching=True,
        reuse_idle=_idle_in_autocommit,
    )
    if retry_timeout is not None:
        backend.retry_timeout = retry_timeout
    return PostgresStore(backend)


def _idle_in_autocommit(dbapi_connection: Any) -> bool:
    """Whether a psycopg connection may go on the idle shelf (``engine/idle.py``): open
    and outside any transaction, as every one-statement call leaves it. Asked of libpq
    directly (``connection.info`` builds an object per call, a tenth of a checkin), which
    answers UNKNOWN, not IDLE, for a closed or broken connection."""
    return (
        dbapi_connection is not None
        and dbapi_connection.pgconn.transaction_status == TransactionStatus.IDLE
    )


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DBOSInitializationError(f"invalid Postgres URL {url!r}: {exc}") from None
    if parsed.drivername.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise DBOSInitializationError(f"not a Postgres URL: {safe_url(parsed)}")
    if not parsed.database:
        raise DBOSInitializationError(f"the Postgres URL names no database: {safe_url(parsed)}")
    return parsed.set(drivername="postgresql+psycopg")


def _connect_args(url: URL) -> dict[str, object]:
    """What each connection passes to the server, unless the URL's query sets it."""
    defaults: dict[str, object] = {
        # Without a connect timeout, an unreachable host hangs for minutes.
        "connect_timeout": _DEFAULT_CONNECT_TIMEOUT_S,
        "application_name": APPLICATION_NAME,
    }
    return {key: value for key, value in defaults.items() if key not in url.query}
