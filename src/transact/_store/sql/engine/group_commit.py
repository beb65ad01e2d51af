"""Group commit (SQLite): the one-statement writes of many threads share one transaction.

On SQLite, one writer at a time holds the database's write lock, and each COMMIT costs
an ``fsync``. When many workflows run at once (recovery, ``start_workflow`` bursts,
queues), their checkpoints used to queue on the lock (in SQLite's busy handler, which
sleeps in steps of milliseconds) and pay one ``fsync`` each. Here, threads that write
while another thread is committing queue up; when that commit ends, the first of them
becomes the *leader* and commits every queued write in one transaction, then wakes the
others. Each caller still returns only after the COMMIT that made its own write durable,
so durability is unchanged; a thread writing alone commits alone, with no wait.

:class:`GroupCommit` is the queue and the hand-over of leadership; how a batch is
written (and how one write's failure is kept from the others) is the ``commit``
function it is given (``Backend._commit_batch``, which hands batches of several writes
to :func:`write_together`).

Not used on Postgres: there, concurrent commits already share the server's WAL flushes,
and a batch sent in one pipeline was measured no faster than the pool's connections
writing in parallel (the client's per-statement CPU dominates).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from transact._store.sql.engine.connections import Write, WriteConnections
from transact._store.sql.engine.errors import Phase
from transact.errors import DBOSException

__all__ = ["GroupCommit", "Write", "write_together"]


class GroupCommit:
    """The queue of writes waiting for the current batch's commit to end.

    ``commit(batch)`` writes a batch (the leader's own write first), sets each write's
    ``rowcount`` or ``error`` and marks it ``done``; at most ``max_batch`` writes go in
    one batch.
    """

    def __init__(self, commit: Callable[[list[Write]], None], *, max_batch: int) -> None:
        self._commit = commit
        self._max_batch = max_batch
        self._lock = threading.Lock()
        # The batch being committed sits at the front; the writes behind it wait.
        self._queue: list[Write] = []

    def submit(self, write: Write) -> int:
        """Write ``write`` (alone, or in a batch with others); its rowcount, or raise."""
        with self._lock:
            self._queue.append(write)
            leading = len(self._queue) == 1
            if not leading:
                write.wake = threading.Event()
        if not leading:
            write.wake.wait()  # type: ignore[union-attr]  # set above, under the lock
            if write.done:
                return write.outcome()
            # Woken to lead: the batch before ours is committed.
        with self._lock:
            batch = self._queue[: self._max_batch]
        try:
            self._commit(batch)
        finally:
            for other in batch:
                if not other.done:
                    # The commit function was interrupted before it finished this write:
                    # whether it was written is unknown.
                    other.error = DBOSException("the write was interrupted")
                    other.done = True
            with self._lock:
                del self._queue[: len(batch)]
                successor = self._queue[0] if self._queue else None
            for other in batch:
                if other is not write and other.wake is not None:
                    other.wake.set()
            if successor is not None and successor.wake is not None:
                successor.wake.set()
        return write.outcome()

    def reset(self) -> None:
        """Forget every queued write (in a forked child, whose parent's threads are gone)."""
        self._lock = threading.Lock()
        self._queue = []


def write_together(backend: WriteConnections, batch: list[Write]) -> None:
    """Write ``batch`` in one SQLite transaction and set the writes' outcomes; leave
    them all undone if the transaction was rolled back (the caller then runs each alone).

    A constraint violation undoes its own statement only, and SQLite keeps the
    transaction, so it fails that write alone. Any other failure rolls everything back,
    unless it was the COMMIT, whose outcome may be unknown: that fails every write.
    """
    try:
        fairy = backend.checkout_writer()
    except Exception:
        return  # each write connects (and retries) alone
    integrity_error: type[Exception] = backend.engine.dialect.loaded_dbapi.IntegrityError
    outcomes: list[tuple[Write, int, Exception | None]] = []
    phase = Phase.EXECUTE
    failed = True
    try:
        dbapi: Any = fairy.dbapi_connection
        try:
            dbapi.execute("BEGIN IMMEDIATE")
            for write in batch:
                try:
                    count = int(dbapi.execute(write.raw.sql, write.args).rowcount)
                except integrity_error as exc:
                    outcomes.append((write, 0, exc))
                else:
                    outcomes.append((write, count, None))
            phase = Phase.COMMIT
            dbapi.execute("COMMIT")
        except backend.dbapi_error as exc:
            with contextlib.suppress(backend.dbapi_error):
                dbapi.rollback()
            if phase is Phase.COMMIT and not _refused_lock(exc):
                _fail_all(backend, exc, fairy, batch)
            return
        failed = False
        for write, count, error in outcomes:
            if error is None:
                write.rowcount = count
            else:
                write.error = backend.error_of(error, write, fairy, Phase.EXECUTE)
            write.done = True
    finally:
        backend.checkin(fairy, failed=failed)


def _refused_lock(exc: Exception) -> bool:
    """Whether SQLite refused the lock (nothing was written, the COMMIT can be retried)."""
    message = str(exc)
    return "database is locked" in message or "database is busy" in message


def _fail_all(backend: WriteConnections, exc: Exception, fairy: Any, batch: list[Write]) -> None:
    """Give every write of ``batch`` the error ``exc`` (its outcome is unknown)."""
    for write in batch:
        write.error = backend.error_of(exc, write, fairy, Phase.COMMIT)
        write.done = True
