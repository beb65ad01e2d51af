"""Running a store verb's statements: the engine views, short transactions, retries.

Every verb hands :meth:`Backend.run` a function of one connection and says what kind of
work it is (:class:`Mode`). ``run`` picks the engine view for it, runs the function in a
transaction, retries what is safe to retry, and translates driver errors in one place
(``errors.translate``).
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from transact._store.sql.errors import (
    OnError,
    Phase,
    Violation,
    classify,
    is_transient,
    nothing_committed,
    translate,
)

__all__ = ["Backend", "Mode"]

T = TypeVar("T")

READ_OPTION = "transact_read"
"""Execution option the SQLite ``begin`` hook reads: set on reads, which take no lock."""

_NO_ERROR_CONTEXT = OnError()


class Mode(enum.Enum):
    """The kind of work a verb does, which decides its transaction."""

    READ = "read"
    """Reads only. Postgres: autocommit (no BEGIN/COMMIT round trips); SQLite: no lock."""
    WRITE_ONE = "write_one"
    """Exactly one statement that writes. Postgres: autocommit, so the statement is its own
    transaction and costs one round trip; SQLite: BEGIN IMMEDIATE ... COMMIT."""
    WRITE = "write"
    """Several statements that must commit together: BEGIN (IMMEDIATE on SQLite) ... COMMIT."""


class Backend:
    """One database: its engine, how each :class:`Mode` runs on it, and its flavour.

    ``notify`` is True where writers should ``pg_notify`` other processes (Postgres).
    ``autocommit_modes`` are the modes whose statements commit one by one (Postgres
    runs READ and WRITE_ONE that way), which matters for whether a retry is safe.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        url: URL,
        notify: bool,
        autocommit_modes: frozenset[Mode],
        retry_delays: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6),
    ) -> None:
        self.engine = engine
        self.url = url
        self.notify = notify
        self.dialect_name = engine.dialect.name
        self.retry_delays = retry_delays
        self._autocommit_modes = autocommit_modes
        # Verbs read ``rowcount`` after INSERTs too (did ON CONFLICT DO NOTHING or the
        # PENDING guard insert the row?); SQLAlchemy only keeps it for UPDATE/DELETE
        # unless asked.
        writer = engine.execution_options(preserve_rowcount=True)
        autocommit = writer.execution_options(isolation_level="AUTOCOMMIT")
        read = engine.execution_options(**{READ_OPTION: True})
        # Engine views share one pool; the options only change how a checkout behaves.
        self._engines: dict[Mode, Engine] = {
            Mode.READ: autocommit if Mode.READ in autocommit_modes else read,
            Mode.WRITE_ONE: autocommit if Mode.WRITE_ONE in autocommit_modes else writer,
            Mode.WRITE: writer,
        }

    def run(
        self,
        mode: Mode,
        work: Callable[[Connection], T],
        on_error: OnError = _NO_ERROR_CONTEXT,
        *,
        retry_on: frozenset[Violation] = frozenset(),
    ) -> T:
        """Run ``work`` in one transaction of kind ``mode``; commit and return its result.

        A transient failure (dropped connection, busy database, deadlock) is retried with
        backoff when nothing can have been committed, or always for READ. A violation in
        ``retry_on`` (a lost race, such as two writers taking one stream offset) is
        retried at once. Other driver errors are translated with ``on_error``; an error
        raised by ``work`` itself propagates after the rollback.
        """
        engine = self._engines[mode]
        autocommit = mode in self._autocommit_modes
        delays = iter(self.retry_delays)
        races = 0
        while True:
            phase = Phase.CONNECT
            try:
                with engine.connect() as conn:
                    phase = Phase.EXECUTE
                    with conn.begin():
                        result = work(conn)
                        phase = Phase.COMMIT
                return result
            except IntegrityError as exc:
                if retry_on and classify(exc) in retry_on and races < 100:
                    races += 1
                    time.sleep(random.uniform(0, 0.002 * races))
                    continue
                raise translate(exc, on_error, self.url, phase) from exc
            except SQLAlchemyError as exc:
                retryable = is_transient(exc) and (
                    mode is Mode.READ or nothing_committed(exc, phase, autocommit)
                )
                delay = next(delays, None) if retryable else None
                if delay is None:
                    raise translate(exc, on_error, self.url, phase) from exc
                time.sleep(delay * random.uniform(0.5, 1.0))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
