"""The SQLite change watcher: delivers other processes' writes to a callback within
milliseconds, as the Postgres LISTEN thread does (``listener.py``).

One daemon thread per subscribed store, on a connection of its own. Every
``POLL_SECONDS`` it reads ``PRAGMA data_version``, which changes when any other
connection (of any process) committed to the file, and costs a read of the WAL's
shared-memory header, no I/O and no lock. Only when it changed does the thread read the
change log (``schema/change_log.py``) after the last row it saw, and pass each new key
once to the callback. An idle database costs one pragma per poll, a busy one one
indexed range read per poll, whatever the number of waiters.

Now and then it also prunes rows older than ``KEEP_SECONDS``. A process that could not
read for that long (suspended, or its database unreachable) may miss keys, as a
Postgres listener misses notifications while disconnected: waiters still re-check the
database now and then, so a missed key delays a wake-up, it never loses one.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from pathlib import Path

from transact._store.protocol import NotifyCallback
from transact._store.sql.dialects.connection_thread import ConnectionThread
from transact._store.sql.schema.change_log import LATEST, PRUNE, READ_AFTER

__all__ = ["KEEP_SECONDS", "POLL_SECONDS", "ChangeWatcher"]

logger = logging.getLogger("dbos")

POLL_SECONDS = 0.005
"""How often the watcher asks whether another connection committed: a cross-process
wake-up waits for half of it on average. Each poll costs about 20 µs of CPU (0.4% of a
core when idle); polling every 2 ms cost a busy process a fifth of its queue throughput
in ``make bench`` (the watcher taking the GIL from the workflows' threads)."""

KEEP_SECONDS = 30.0
"""How long a change stays in the log, for watchers that fall behind."""

_RETRY_SECONDS = 1.0
_PRUNE_BUSY_MS = 50  # a prune gives way to writers rather than wait for the lock


class ChangeWatcher(ConnectionThread):
    """A daemon thread delivering the change log's new keys to ``on_notify``, until
    :meth:`stop`."""

    def __init__(self, path: Path, on_notify: NotifyCallback) -> None:
        super().__init__(self._run, "transact-sqlite-watcher", "change watcher", str(path))
        self._path = path
        self._on_notify = on_notify
        self._started = threading.Event()

    def start(self) -> None:
        """Start the thread; return once it has read where the log ends, so every
        change committed after this call is delivered."""
        self._thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch()
                return
            except sqlite3.Error as exc:
                self._lost(str(exc), "retrying")
            except Exception:  # a bug must not kill the thread silently
                logger.exception("change watcher error on %s", self._path)
            finally:
                self._started.set()
            self._stop.wait(_RETRY_SECONDS)

    def _watch(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {_PRUNE_BUSY_MS}")
            version = _data_version(conn)
            last = int(conn.execute(LATEST).fetchone()[0])
            self._back()
            self._started.set()
            # (time, last seq read then): rows up to it may go once KEEP_SECONDS passed.
            marks: list[tuple[float, int]] = []
            while not self._stop.is_set():
                time.sleep(POLL_SECONDS)  # an Event.wait with a timeout costs twice the CPU
                now_version = _data_version(conn)
                if now_version != version:
                    # Read after the version: a commit landing meanwhile changes it again.
                    version = now_version
                    last = self._deliver(conn, last)
                marks = _prune(conn, marks, last)
        finally:
            conn.close()

    def _deliver(self, conn: sqlite3.Connection, last: int) -> int:
        rows = conn.execute(READ_AFTER, (last,)).fetchall()
        if not rows:
            return last
        for key in dict.fromkeys(key for _, key in rows):  # each key once, in order
            try:
                self._on_notify(key)
            except Exception:
                logger.exception("notification callback failed for %r", key)
        return int(rows[-1][0])


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def _prune(
    conn: sqlite3.Connection, marks: list[tuple[float, int]], last: int
) -> list[tuple[float, int]]:
    """Record a mark each ``KEEP_SECONDS / 2``; delete the rows before a mark once it is
    ``KEEP_SECONDS`` old. Returns the marks still to come."""
    now = time.monotonic()
    if not marks or now - marks[-1][0] >= KEEP_SECONDS / 2:
        marks = [*marks, (now, last)]
    if now - marks[0][0] < KEEP_SECONDS:
        return marks
    _, before = marks[0]
    # Busy (another writer holds the lock past the short busy timeout): next time.
    with contextlib.suppress(sqlite3.OperationalError):
        conn.execute(PRUNE, (before,))
    return marks[1:]
