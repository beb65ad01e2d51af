"""The retry policy of one store verb: per failure, sleep and retry, or raise.

A transient failure (a dropped connection, a busy database, a deadlock) is retried with
backoff when nothing can have been committed, or always for a read. A violation the
verb names in ``retry_on`` (a lost race, such as two writers taking one stream offset)
is retried at once, a bounded number of times. Anything else is translated by
``errors.translate`` and raised.
"""

from __future__ import annotations

import random
import time

from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from transact._store.sql.engine.errors import (
    OnError,
    Phase,
    Violation,
    classify,
    is_transient,
    nothing_committed,
    translate,
)

__all__ = ["Attempts"]

MAX_RACES = 100


class Attempts:
    """The attempts of one verb (see the module docstring).

    ``read``: the verb only reads, so retrying can never repeat a write. ``autocommit``:
    each statement commits by itself, so a connection lost during one may have
    committed it.
    """

    def __init__(
        self,
        *,
        url: URL,
        delays: tuple[float, ...],
        on_error: OnError,
        read: bool,
        autocommit: bool,
        retry_on: frozenset[Violation] = frozenset(),
    ) -> None:
        self._url = url
        self._delays = iter(delays)
        self._on_error = on_error
        self._read = read
        self._autocommit = autocommit
        self._retry_on = retry_on
        self._races = 0

    def failed(self, exc: SQLAlchemyError, phase: Phase) -> None:
        """Sleep before the next attempt, or raise the translated error."""
        if isinstance(exc, IntegrityError):
            if self._retry_on and classify(exc) in self._retry_on and self._races < MAX_RACES:
                self._races += 1
                time.sleep(random.uniform(0, 0.002 * self._races))
                return
            raise translate(exc, self._on_error, self._url, phase) from exc
        retryable = is_transient(exc) and (
            self._read or nothing_committed(exc, phase, self._autocommit)
        )
        delay = next(self._delays, None) if retryable else None
        if delay is None:
            raise translate(exc, self._on_error, self._url, phase) from exc
        time.sleep(delay * random.uniform(0.5, 1.0))
