"""The retry policy of one store verb: per failure, sleep and retry, or raise.

A transient failure (a dropped connection, a busy database, a deadlock) is retried with
backoff. When nothing can have been committed, the retry simply redoes the work. When the
commit is *in doubt* (the connection dropped after an autocommit statement or a COMMIT
was sent), the retry redoes it too, and the attempt remembers the doubt: a retry that
then clashes with the row its own earlier attempt would have written (the checkpoint's
position, the forked workflow's id) raises :class:`EarlierCommit`, which the backend
turns into the verb's success. A violation the verb names in ``retry_on`` (a lost race,
such as two writers taking one stream offset) is retried at once, a bounded number of
times. Anything else is translated by ``errors.translate`` and raised.

Once the database has answered (``timeout`` given), transient failures are retried until
``timeout`` seconds have passed since the first failure, backing off up to
:data:`MAX_DELAY`; before that (opening a store on a wrong or unreachable URL), only the
short fixed ``delays`` are tried, so a bad URL fails fast. The first failure of an
outage logs one warning on the ``transact`` logger; the first success after it logs
one line saying the database is back (:class:`Outage`).
"""

from __future__ import annotations

import logging
import random
import threading
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
    safe_url,
    translate,
)
from transact.errors import DBOSException

__all__ = ["MAX_DELAY", "Attempts", "EarlierCommit", "Outage"]

# Its own generator: retries must not move the application's global ``random`` state.
_JITTER = random.Random()

MAX_RACES = 100
MAX_DELAY = 2.0
"""The longest sleep between two attempts while the database is away (seconds)."""

logger = logging.getLogger("transact")


class EarlierCommit(Exception):  # a signal to the backend, not an error
    """A retry after an in-doubt commit found the row its earlier attempt wrote: that
    attempt committed. ``conflict`` is the error the clash would otherwise be."""

    def __init__(self, conflict: BaseException) -> None:
        super().__init__(str(conflict))
        self.conflict = conflict


class Outage:
    """Whether the system database is away, shared by every verb of the process, so an
    outage logs one warning when it starts and one line when it ends (not one per try)."""

    _lock = threading.Lock()
    _since: float | None = None

    @classmethod
    def down(cls, url: URL, exc: SQLAlchemyError, timeout: float | None) -> None:
        """Note a transient failure (log the warning if it starts an outage)."""
        with cls._lock:
            if cls._since is not None:
                return
            cls._since = time.monotonic()
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()
        limit = f"for up to {timeout:g}s" if timeout is not None else ""
        logger.warning(
            "system database %s unavailable (%s); retrying %s",
            safe_url(url),
            detail[0] if detail else type(exc).__name__,
            limit,
        )

    @classmethod
    def forget(cls) -> None:
        """Forget the outage (a verb gave up on it)."""
        with cls._lock:
            cls._since = None

    @classmethod
    def up(cls, url: URL) -> None:
        """Note a success after a failure (log the line if it ends an outage)."""
        with cls._lock:
            since, cls._since = cls._since, None
        if since is not None:
            logger.warning(
                "system database %s is back after %.1fs", safe_url(url), time.monotonic() - since
            )


def own_commit(violation: Violation, on_error: OnError) -> bool:
    """Whether a clash on ``violation`` is what the verb's own committed write causes."""
    if violation is Violation.CHECKPOINT:
        return on_error.checkpoint is not None
    if violation is Violation.WORKFLOW_ID:
        return on_error.duplicate_id is not None
    return violation is Violation.MESSAGE_ID


class Attempts:
    """The attempts of one verb (see the module docstring).

    ``read``: the verb only reads, so retrying can never repeat a write. ``autocommit``:
    each statement commits by itself, so a connection lost during one may have
    committed it. ``in_doubt``: an earlier try (of a batch) may already have committed.
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
        timeout: float | None = None,
        in_doubt: bool = False,
    ) -> None:
        self._url = url
        self._delays = delays
        self._on_error = on_error
        self._read = read
        self._autocommit = autocommit
        self._retry_on = retry_on
        self._races = 0
        self._tries = 0
        self._timeout = timeout
        self._deadline: float | None = None
        self.in_doubt = in_doubt

    def failed(self, exc: SQLAlchemyError, phase: Phase) -> None:
        """Sleep before the next attempt, or raise the translated error (or
        :class:`EarlierCommit`)."""
        if isinstance(exc, IntegrityError):
            violation = classify(exc)
            if self._retry_on and violation in self._retry_on and self._races < MAX_RACES:
                self._races += 1
                time.sleep(_JITTER.uniform(0, 0.002 * self._races))
                return
            error = translate(exc, self._on_error, self._url, phase)
            if self.in_doubt and own_commit(violation, self._on_error):
                raise EarlierCommit(error) from exc
            raise error from exc
        if not is_transient(exc):
            raise translate(exc, self._on_error, self._url, phase) from exc
        delay = self._next_delay()
        if delay is None:
            error = translate(exc, self._on_error, self._url, phase)
            if self._deadline is not None:
                Outage.forget()  # the next failure warns afresh
                error = DBOSException(
                    f"{error} (gave up after retrying for {self._timeout:g}s; see "
                    "system_database_retry_timeout_sec)"
                )
            raise error from exc
        if not (self._read or nothing_committed(exc, phase, self._autocommit)):
            self.in_doubt = True  # the retry must recognise its own earlier commit
        if self._timeout is not None:  # not while opening (a wrong URL fails, not waits)
            Outage.down(self._url, exc, self._timeout)
        time.sleep(delay * _JITTER.uniform(0.5, 1.0))

    def succeeded(self) -> None:
        """Note the verb's success (ends an outage this attempt saw)."""
        if self._tries:
            Outage.up(self._url)

    def _next_delay(self) -> float | None:
        """The sleep before the next try, or None to give up."""
        tries, self._tries = self._tries, self._tries + 1
        if self._timeout is None:
            return self._delays[tries] if tries < len(self._delays) else None
        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + self._timeout
        delay = self._delays[tries] if tries < len(self._delays) else MAX_DELAY
        delay = min(delay, MAX_DELAY)
        if now >= self._deadline:
            return None
        return min(delay, self._deadline - now)
