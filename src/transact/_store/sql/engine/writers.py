"""How ``Backend`` shares its writes: the checkouts, group commit and batching.

The part of the backend that ``group_commit.py`` and ``batching.py`` call back into (it
satisfies their ``connections.WriteConnections``), and the functions that hand each of
their batches over and run alone the writes a batch left undone.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from transact._store.sql.engine.batching import Batch, write_batched
from transact._store.sql.engine.compiled import RawStatement
from transact._store.sql.engine.connections import Write
from transact._store.sql.engine.driver import wrap_error
from transact._store.sql.engine.errors import OnError, Phase, translate
from transact._store.sql.engine.group_commit import GroupCommit, write_together
from transact._store.sql.engine.idle import IdleConnections
from transact._store.sql.engine.modes import Mode
from transact.errors import DBOSBaseException

__all__ = ["GROUP_MAX", "Writers"]

GROUP_MAX = 100
"""At most this many one-statement writes share one group commit (SQLite)."""


class Writers:
    """The writers' side of ``Backend`` (its base class; ``Backend`` sets the fields)."""

    engine: Engine
    url: URL
    _group: GroupCommit | None
    _writer: Any
    _write_lock: contextlib.AbstractContextManager[Any]
    _batchers: dict[str, GroupCommit] | None
    _batchers_lock: threading.Lock
    _idle: IdleConnections | None

    def _execute_alone(
        self,
        raw: RawStatement,
        args: Any,
        on_error: OnError,
        *,
        in_doubt: bool = False,
        settle: Callable[[], int] | None = None,
    ) -> int:
        """Run one write alone, with the usual retries (``Backend`` implements it)."""
        raise NotImplementedError

    def _batcher(self, batch: Batch) -> GroupCommit:
        assert self._batchers is not None
        batcher = self._batchers.get(batch.name)
        if batcher is None:
            with self._batchers_lock:
                batcher = self._batchers.get(batch.name)
                if batcher is None:
                    commit = functools.partial(self._commit_batched, batch)
                    batcher = self._batchers[batch.name] = GroupCommit(commit, max_batch=GROUP_MAX)
        return batcher

    def checkout(self, mode: Mode) -> Any:
        """A driver connection (a pool "fairy") for raw work of kind ``mode``; give it back
        with :meth:`checkin`.

        With a single writer (SQLite), every write of this process runs under the write
        lock, one at a time, so they all share one connection kept out of the pool: no
        checkout per write, and its page cache stays valid between writes.

        Otherwise (Postgres) a connection comes off the idle shelf when one is there
        (``idle.py``), else from the pool.
        """
        if mode is Mode.READ or self._group is None:
            fairy = self._idle.take() if self._idle is not None else None
            return fairy if fairy is not None else self.engine.raw_connection()
        if self._writer is None:
            self._writer = self.engine.raw_connection()
        return self._writer

    def checkout_writer(self) -> Any:
        """:meth:`checkout` for a write (the group commit's transactions)."""
        return self.checkout(Mode.WRITE)

    def checkin(self, fairy: Any, *, failed: bool = False) -> None:
        """Give back a connection from :meth:`checkout`. ``failed``: its state is unknown
        (lost, or a rollback failed); the writers' connection then goes back to the pool
        (which resets or discards it) and the next write takes another; on Postgres,
        the idle shelf empties too (the server probably dropped its connections all
        at once)."""
        if fairy is not self._writer:
            if self._idle is not None:
                if failed:
                    self._idle.close_all()
                elif self._idle.give(fairy):
                    return
            fairy.close()
        elif failed:
            self._writer = None
            with contextlib.suppress(Exception):
                fairy.close()

    def _commit_batch(self, batch: list[Write]) -> None:
        """Group commit: write ``batch``, setting each write's outcome.

        One write runs alone, as without group commit. Several share one transaction
        (:func:`~transact._store.sql.engine.group_commit.write_together`); the writes it leaves
        undone (the shared transaction was rolled back) then run alone, each with the
        usual retries and its own error.
        """
        with self._write_lock:
            if len(batch) > 1:
                write_together(self, batch)
            self._write_undone(batch)

    def _commit_batched(self, batch: Batch, writes: list[Write]) -> None:
        """Batched writes (Postgres): one statement for ``writes``, then any write it left
        undone alone (``batching.py``)."""
        if len(writes) > 1:
            write_batched(self, batch, writes)
        self._write_undone(writes)

    def _write_undone(self, writes: list[Write]) -> None:
        """Run each write not done yet alone, with the usual retries and its own error."""
        for write in writes:
            if not write.done:
                try:
                    write.rowcount = self._execute_alone(
                        write.raw,
                        write.args,
                        write.on_error,
                        in_doubt=write.in_doubt,
                        settle=write.settle,
                    )
                except (Exception, DBOSBaseException) as exc:  # CheckpointConflict is one
                    write.error = exc
                write.done = True

    def error_of(self, exc: Exception, write: Write, fairy: Any, phase: Phase) -> BaseException:
        """The error ``write``'s caller gets for driver error ``exc`` (translated as
        :meth:`execute_one` translates it, without a retry)."""
        wrapped = wrap_error(self.engine, exc, write.raw, write.args, fairy=fairy)
        return translate(wrapped, write.on_error, self.url, phase)

    @property
    def dbapi_error(self) -> type[Exception]:
        """The driver's base exception class."""
        return self._dbapi_error

    @property
    def _dbapi_error(self) -> type[Exception]:
        dbapi = self.engine.dialect.loaded_dbapi
        error: type[Exception] = dbapi.Error
        return error
