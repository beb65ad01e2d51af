"""Running a store verb's statements: the engine views, short transactions, retries.

Every verb hands :meth:`Backend.run` a function of one connection and says what kind of
work it is (:class:`Mode`). ``run`` picks the engine view for it, runs the function in a
transaction, retries what is safe to retry, and translates driver errors in one place
(``errors.translate``; the retry policy is ``attempts.py``). The hot paths skip
SQLAlchemy's execution layer: :meth:`Backend.execute_one` (one writing statement),
:meth:`Backend.fetch` (one read), :meth:`Backend.execute_returning` and
:meth:`Backend.run_raw` run statements compiled once (``compiled.py``) straight on a
pooled driver connection (``raw_calls.py``, the base class that runs them and makes
every path's retry attempts).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.expression import Executable

from transact._store.sql.engine.attempts import Attempts, EarlierCommit
from transact._store.sql.engine.batching import Batch
from transact._store.sql.engine.compiled import StatementCache
from transact._store.sql.engine.driver import fetch_all, rolled_back
from transact._store.sql.engine.errors import OnError, Phase, Violation
from transact._store.sql.engine.group_commit import GroupCommit, Write
from transact._store.sql.engine.idle import IdleConnections, shelf_capacity
from transact._store.sql.engine.modes import IDS_PER_STATEMENT, READ_OPTION, Mode, chunked
from transact._store.sql.engine.raw import RawConnection
from transact._store.sql.engine.raw_calls import RawCalls, earlier_result
from transact._store.sql.engine.writers import GROUP_MAX

# Mode, chunked and IDS_PER_STATEMENT live in ``modes.py``; re-exported for the verbs.
__all__ = ["IDS_PER_STATEMENT", "READ_OPTION", "Backend", "Mode", "chunked"]

T = TypeVar("T")

DEFAULT_RETRY_TIMEOUT = 60.0
"""How long (seconds) a verb retries while the system database is away, by default."""

_NO_ERROR_CONTEXT = OnError()


class Backend(RawCalls):
    """One database: its engine, how each :class:`Mode` runs on it, and its flavour.

    ``notify`` is True where writers should ``pg_notify`` other processes (Postgres).
    With ``autocommit`` (Postgres), the engine's connections are in autocommit mode by
    default, so READ and WRITE_ONE statements commit one by one with no BEGIN/COMMIT
    round trips, and WRITE switches a checkout to READ COMMITTED for its transaction.
    Without it (SQLite), the engine's ``begin`` hook starts every transaction.

    ``single_writer`` (SQLite: one writer at a time per database) makes this process's
    writers take turns on a lock before they ask the database for its write lock, and
    groups concurrent :meth:`execute_one` calls into shared transactions
    (``group_commit.py``). Queued on the database's lock instead, a writer waits in
    SQLite's busy handler, which sleeps 1 ms, then 2, 5, ... between attempts: most of
    a message's latency when a sender and a receiver write at once.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        url: URL,
        notify: bool,
        autocommit: bool,
        single_writer: bool = False,
        batching: bool = False,
        reuse_idle: Callable[[Any], bool] | None = None,
        retry_delays: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6),
        retry_timeout: float = DEFAULT_RETRY_TIMEOUT,
    ) -> None:
        self.engine = engine
        self.url = url
        self.notify = notify
        self.dialect_name = engine.dialect.name
        self.retry_delays = retry_delays
        self.retry_timeout = retry_timeout
        # Set once the database has answered: from then on a transient failure is an
        # outage to ride out (``retry_timeout``), not a wrong URL to report at once.
        self.reached = False
        self._autocommit = autocommit
        self._group: GroupCommit | None = None
        self._writer: Any = None  # the writers' shared connection (single writer only)
        # ``reuse_idle`` (Postgres): which driver connections are clean enough to shelve.
        capacity = shelf_capacity(engine.pool.size()) if isinstance(engine.pool, QueuePool) else 0
        self._idle: IdleConnections | None = (
            IdleConnections(capacity, reuse_idle) if reuse_idle is not None and capacity else None
        )
        if self._idle is not None:
            # A connection found dead anywhere (a transaction's, the batches') means the
            # server probably dropped the shelved ones too: the pool reconnects at its
            # next checkouts, and the shelf must not hand out the dead ones meanwhile.
            event.listen(engine, "invalidate", self._idle.on_invalidate)
        self._write_lock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if single_writer:
            self._group = GroupCommit(self._commit_batch, max_batch=GROUP_MAX)
            self._write_lock = threading.Lock()
        # Batch name -> the queue of its concurrent writes (``batching.py``); None: no
        # batching (SQLite's group commit already batches every write).
        self._batchers: dict[str, GroupCommit] | None = {} if batching else None
        self._batchers_lock = threading.Lock()
        self._compiled = StatementCache(engine).get
        _LIVE.add(self)
        # Verbs read ``rowcount`` after INSERTs too (did ON CONFLICT DO NOTHING or the
        # PENDING guard insert the row?); SQLAlchemy only keeps it for UPDATE/DELETE
        # unless asked.
        writer = engine.execution_options(preserve_rowcount=True)
        # Engine views share one pool; the options only change how a checkout behaves.
        self._engines: dict[Mode, Engine] = {
            Mode.READ: engine if autocommit else engine.execution_options(**{READ_OPTION: True}),
            Mode.WRITE_ONE: writer,
            Mode.WRITE: (
                writer.execution_options(isolation_level="READ COMMITTED") if autocommit else writer
            ),
        }

    def run(
        self,
        mode: Mode,
        work: Callable[[Connection], T],
        on_error: OnError = _NO_ERROR_CONTEXT,
        *,
        retry_on: frozenset[Violation] = frozenset(),
        committed: Callable[[], T] | None = None,
        settle: Callable[[], T] | None = None,
    ) -> T:
        """Run ``work`` in one transaction of kind ``mode``; commit and return its result.

        A transient failure (dropped connection, busy database, deadlock) is retried with
        backoff (``attempts.py``), also when the commit is in doubt; a retry that then
        finds the row its earlier attempt wrote returns ``committed()`` (without
        ``committed``, it raises the clash's error); with ``settle``, a try in doubt is
        not run again but settled by ``settle()`` (see :meth:`execute_returning`). A
        violation in ``retry_on`` (a lost
        race, such as two writers taking one stream offset) is retried at once. Other
        driver errors are translated with ``on_error``; an error raised by ``work``
        itself propagates after the rollback.
        """
        engine = self._engines[mode]
        attempt = self._attempts(mode, on_error, retry_on)
        # The lock before the connection, as a group commit takes them: the other order
        # could leave the lock's holder waiting for a connection held by its waiters.
        writing = self._write_lock if mode is not Mode.READ else contextlib.nullcontext()
        while True:
            phase = Phase.CONNECT
            try:
                with writing, engine.connect() as conn:
                    phase = Phase.EXECUTE
                    with conn.begin():
                        result = work(conn)
                        phase = Phase.COMMIT
                attempt.succeeded()
                self.reached = True
                return result
            except SQLAlchemyError as exc:
                try:
                    attempt.failed(exc, phase)  # outside the lock: it may sleep first
                except EarlierCommit as earlier:
                    return earlier_result(earlier, committed)
                if attempt.in_doubt and settle is not None:
                    return settle()

    def run_raw(
        self,
        mode: Mode,
        work: Callable[[RawConnection], T],
        on_error: OnError = _NO_ERROR_CONTEXT,
        committed: Callable[[], T] | None = None,
    ) -> T:
        """:meth:`run` for work whose statements can run raw (``raw.py``): the same
        transaction for ``mode``, retries and error translation, with each statement
        compiled once and run on the driver connection. Same restrictions on the
        statements as :meth:`execute_one`; rows come back as tuples."""
        attempt: Attempts | None = None  # made on a first failure: the hot path skips it
        writing = self._write_lock if mode is not Mode.READ else contextlib.nullcontext()
        # WRITE_ONE work is one writing statement (and reads): atomic by itself, it runs
        # in autocommit on both databases, with no BEGIN or COMMIT calls.
        transaction = mode is Mode.WRITE
        begin = "BEGIN IMMEDIATE" if self.dialect_name == "sqlite" else "BEGIN"
        while True:
            phase = Phase.CONNECT
            try:
                with writing:
                    fairy = self._raw_connection(mode)
                    failed = True
                    try:
                        phase = Phase.EXECUTE
                        conn = RawConnection(functools.partial(self._execute_raw, fairy))
                        if transaction:
                            self._execute_text(fairy, begin)
                        try:
                            result = work(conn)
                            if transaction:
                                phase = Phase.COMMIT
                                self._execute_text(fairy, "COMMIT")
                        except BaseException:
                            failed = transaction and not rolled_back(fairy)
                            raise
                        failed = False
                        if attempt is not None:
                            attempt.succeeded()
                        return result
                    finally:
                        self.checkin(fairy, failed=failed)
            except SQLAlchemyError as exc:
                attempt = attempt or self._attempts(mode, on_error)
                try:
                    attempt.failed(exc, phase)  # outside the lock: it may sleep first
                except EarlierCommit as earlier:
                    return earlier_result(earlier, committed)

    def execute_one(
        self,
        stmt: Executable,
        params: Mapping[str, Any],
        on_error: OnError = _NO_ERROR_CONTEXT,
        *,
        batch: Batch | None = None,
        settle: Callable[[], int] | None = None,
    ) -> int:
        """Run one writing statement as its own transaction; return its rowcount.

        The hot path: the statement is compiled once by SQLAlchemy, then run straight on
        a pooled DBAPI connection, skipping SQLAlchemy's per-execution layer (which costs
        more than the INSERT itself). On both databases the statement runs in autocommit:
        it is its own transaction, with no BEGIN or COMMIT of its own (Postgres: one
        round trip; SQLite: one call, no rollback afterwards). Errors and retries are
        handled as in :meth:`run`. Only for statements whose parameters need no type
        conversion (text, integers, None), and on SQLite only for statements without
        RETURNING (the rowcount is read without fetching rows). With group commit
        (SQLite), a call made while another thread's commit is under way shares the next
        transaction with the other calls waiting (``group_commit.py``). With ``batch``
        (Postgres), a call made while another call of the same write is under way is
        written with the others waiting by one statement (``batching.py``). ``settle``:
        as in :meth:`execute_returning`; for a batched write cut off with its batch's
        connection, it is asked first whether the batch wrote the row (then the rowcount
        is 1), before the write runs again alone.
        """
        # SQLite: the connections have pysqlite's implicit BEGIN switched off, so the
        # statement autocommits. A writing statement takes the write lock when it starts
        # (its program opens a write transaction before reading anything), as BEGIN
        # IMMEDIATE would, so it waits on the busy timeout rather than failing, and it
        # cannot meet a stale read snapshot. A failed statement leaves no transaction
        # open, so the connection needs no rollback before it goes back to the pool.
        raw = self._compiled(stmt, params)
        args = raw.args(params)
        if self._group is not None:
            return self._group.submit(Write(raw, args, on_error))
        if batch is not None and self._batchers is not None:
            return self._batcher(batch).submit(Write(raw, args, on_error, settle))
        return self._execute_alone(raw, args, on_error, settle=settle)

    def fetch(
        self, stmt: Executable, params: Mapping[str, Any], on_error: OnError = _NO_ERROR_CONTEXT
    ) -> list[tuple[Any, ...]]:
        """Run one read and return its rows as tuples, in the statement's column order.

        The read counterpart of :meth:`execute_one`: compiled once, run straight on a
        pooled driver connection, outside any transaction (Postgres: autocommit; SQLite:
        no lock), with the retries of a ``Mode.READ`` verb. SQLAlchemy's execution layer
        costs about three times the round trip of a one-row primary-key read, which the
        hot reads (a workflow's row or log while awaiting or dispatching it) cannot
        afford. Same restrictions as :meth:`execute_one`: parameters and columns that
        need no type conversion, and no expanding ``IN`` parameters.
        """
        raw = self._compiled(stmt, params)
        return self._call_raw(raw, raw.args(params), on_error, Mode.READ, fetch_all)

    def execute_returning(
        self,
        stmt: Executable,
        params: Mapping[str, Any],
        on_error: OnError = _NO_ERROR_CONTEXT,
        committed: Callable[[], list[tuple[Any, ...]]] | None = None,
        settle: Callable[[], list[tuple[Any, ...]]] | None = None,
        retry_on: frozenset[Violation] = frozenset(),
    ) -> list[tuple[Any, ...]]:
        """Run one writing statement with ``RETURNING`` as its own transaction; return its
        rows as tuples, in the statement's column order.

        :meth:`execute_one` for a write whose rows the caller needs (a queue claim):
        compiled once, run straight on a pooled driver connection in autocommit, with the
        retries of a ``Mode.WRITE_ONE`` verb (``committed`` as in :meth:`run`). With
        ``settle``, a try whose commit is in doubt is not run again: ``settle()`` (a
        read, once the database answers) tells what it did (the rows a claim took, the
        message a consume took), so a retry cannot take more. ``retry_on``: as in
        :meth:`run` (the statement is run again whole). Same restrictions as
        :meth:`execute_one`. Not where writers take turns (SQLite): they
        go through :meth:`run`.
        """
        if self._group is not None:
            raise ValueError("execute_returning needs a database without a single writer")
        raw = self._compiled(stmt, params)
        return self._call_raw(
            raw,
            raw.args(params),
            on_error,
            Mode.WRITE_ONE,
            fetch_all,
            committed=committed,
            settle=settle,
            retry_on=retry_on,
        )

    def dispose(self) -> None:
        """Close every pooled connection (the writers' one too)."""
        with self._write_lock:  # not under a write still running in another thread
            writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        if self._idle is not None:
            self._idle.close_all()
        self.engine.dispose()


_LIVE: weakref.WeakSet[Backend] = weakref.WeakSet()


def _forget_connections_after_fork() -> None:
    # A forked child must not use its parent's sockets or SQLite handles: drop the pools
    # without closing them (closing would end the parent's sessions too).
    for backend in list(_LIVE):
        backend.engine.dispose(close=False)
        if backend._idle is not None:
            backend._idle.forget()
        if backend._group is not None:
            # Writes queued, and the lock held, by the parent's threads never end here.
            backend._group.reset()
            backend._write_lock = threading.Lock()
            backend._writer = None  # the parent's connection: not ours to use or close
        if backend._batchers is not None:
            backend._batchers = {}
            backend._batchers_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_connections_after_fork)
