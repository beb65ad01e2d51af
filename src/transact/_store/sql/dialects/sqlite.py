"""The SQLite store: one file, safe across threads and across processes on one host.

Every connection is set up the same way (:func:`_configure`):

- ``journal_mode=WAL``: readers never block the writer, nor the writer readers.
- ``synchronous=FULL``: every COMMIT is fsynced before it returns, so a committed
  checkpoint survives a power loss, not only a crash of the process. ``NORMAL`` is an
  opt-in (``sqlite:///path.db?synchronous=normal``, never the default): in WAL mode it
  fsyncs only at checkpoints of the WAL, so a commit costs no ``fsync``, and a crash of
  the process still loses nothing; but a power loss or an OS crash may lose the last
  commits, and a step would then run again although its workflow had moved on.
- ``busy_timeout=30000``: a writer waits up to 30 s for the lock instead of failing.
- ``foreign_keys=ON``: the cascades that delete a workflow's rows with it.

Writers take the write lock up front with ``BEGIN IMMEDIATE`` (a SQLAlchemy ``begin``
hook; pysqlite's own transaction handling is switched off). A deferred transaction that
reads and then writes can fail with "database is locked" without waiting, when another
writer committed between its read and its write; an immediate one waits on the busy
timeout before it has read anything, so concurrent writers from any number of threads
and processes queue instead of failing. Reads take no lock and run without a
transaction (each SELECT sees one consistent snapshot). The hot path's one-statement
writes (``Backend.execute_one``: a checkpoint, a workflow's row, its outcome) run in
autocommit instead: a lone writing statement takes the write lock before it reads, as
``BEGIN IMMEDIATE`` does, and saves the two extra calls. This process's writers take
turns on an in-process lock before asking for the database's (whose busy handler sleeps
in steps of milliseconds), and when several threads write at once, their one-statement
writes share transactions (group commit, ``group_commit.py``): one lock hand-over and
one ``fsync`` per batch instead of per write. Taking turns, the raw writes also share one
connection kept out of the pool (``Backend.checkout``).

Other processes learn of writes they may wait on (a message, an event, an outcome, an
enqueue) from the change log that triggers write in the same transactions
(``schema/change_log.py``), read by each subscribed process's watcher thread when
``PRAGMA data_version`` says another connection committed (``change_watcher.py``).
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from transact._store.protocol import NotifyCallback, Store
from transact._store.sql.dialects.change_watcher import ChangeWatcher
from transact._store.sql.engine.backend import READ_OPTION, Backend
from transact._store.sql.engine.errors import safe_url
from transact._store.sql.store import SQLStore
from transact.errors import DBOSInitializationError

__all__ = ["SQLiteStore", "open_sqlite_store"]

BUSY_TIMEOUT_MS = 30_000

SYNCHRONOUS_PARAMETER = "synchronous"
"""The URL query parameter choosing the durability level (``full`` or ``normal``)."""
SYNCHRONOUS_LEVELS = ("full", "normal")


class SQLiteStore(SQLStore):
    """The SQL store on a SQLite file (see the module docstring for its settings)."""

    def __init__(self, backend: Backend, path: Path) -> None:
        super().__init__(backend)
        self.path = path
        self._watcher: ChangeWatcher | None = None

    def subscribe(self, on_notify: NotifyCallback) -> bool:
        """Start the change watcher delivering other connections' logged keys to
        ``on_notify`` (``change_watcher.py``); True."""
        if self._watcher is None:
            self._watcher = ChangeWatcher(self.path, on_notify)
            self._watcher.start()
        return True

    def listen_for_outcomes(self) -> None:
        """Nothing to do: the watcher delivers outcomes with every other key."""

    def publish(self, keys: Sequence[str]) -> None:
        """Nothing: the only keys published are enqueue announcements, and SQLite's queue
        runners find other processes' enqueues at their poll (``schema/change_log.py``)."""

    def close(self) -> None:
        """Stop the change watcher, then close every pooled connection."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        super().close()

    def _prepare_database(self) -> None:
        # SQLite creates the file, but not the folder it goes in.
        self.path.parent.mkdir(parents=True, exist_ok=True)

    # Migrations need no extra lock: BEGIN IMMEDIATE already serializes them, and the
    # applied versions are read after it.


def open_sqlite_store(url: str, *, retry_timeout: float | None = None) -> Store:
    """The store on the file ``url`` names (``sqlite:///relative.db``,
    ``sqlite:////absolute/path.db``). The store is not migrated yet.

    Raises ``DBOSInitializationError`` for a malformed URL or an in-memory database
    (which one process's pool cannot share between connections: use ``memory://``).
    """
    parsed, synchronous = _parse(url)
    path = Path(parsed.database or "")
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        pool_size=20,
        max_overflow=20,
        # The connection used last is handed out next: sequential writes keep one
        # connection, whose page cache stays valid (each connection must re-read pages
        # another connection changed). 5-6% of a step and of an empty workflow.
        pool_use_lifo=True,
    )
    event.listen(engine, "connect", functools.partial(_configure, synchronous=synchronous))
    event.listen(engine, "begin", _begin)
    backend = Backend(engine, url=parsed, notify=False, autocommit=False, single_writer=True)
    if retry_timeout is not None:
        backend.retry_timeout = retry_timeout
    return SQLiteStore(backend, path)


def _parse(url: str) -> tuple[URL, str]:
    """The driver URL, and the ``synchronous`` level the URL asks for (``FULL`` if none)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DBOSInitializationError(f"invalid SQLite URL {url!r}: {exc}") from None
    if parsed.get_backend_name() != "sqlite":
        raise DBOSInitializationError(f"not a SQLite URL: {safe_url(parsed)}")
    database = parsed.database or ""
    if database in ("", ":memory:") or "mode=memory" in database:
        raise DBOSInitializationError(
            f"{safe_url(parsed)} names an in-memory SQLite database, which a pool of "
            "connections cannot share: give a file path (sqlite:///path/to/file.db) or "
            "use memory://<name>"
        )
    level = parsed.query.get(SYNCHRONOUS_PARAMETER, "full")
    if not isinstance(level, str) or level.lower() not in SYNCHRONOUS_LEVELS:
        raise DBOSInitializationError(
            f"{safe_url(parsed)}: {SYNCHRONOUS_PARAMETER} must be one of "
            f"{', '.join(SYNCHRONOUS_LEVELS)}, not {level!r}"
        )
    driver_url = parsed.difference_update_query([SYNCHRONOUS_PARAMETER])
    return driver_url.set(drivername="sqlite+pysqlite"), level.upper()


def _configure(
    dbapi_connection: sqlite3.Connection, _record: Any, *, synchronous: str = "FULL"
) -> None:
    """Set up a new connection (see the module docstring)."""
    # Switch off pysqlite's implicit BEGIN: ``_begin`` issues the right one instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # checked by ``_parse``
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    # Switching a new file to WAL needs an exclusive lock, which the busy handler does
    # not always wait for; two processes opening a fresh file at once may see "locked".
    # WAL is persistent, so once any connection has switched, this is a plain read.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _begin(conn: Connection) -> None:
    """Begin a transaction: IMMEDIATE for writers, none for readers."""
    if not conn.get_execution_options().get(READ_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
