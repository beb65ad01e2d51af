"""How ``Backend`` runs compiled statements straight on a pooled driver connection.

The part of the backend below its hot paths (``execute_one``, ``fetch``,
``execute_returning``, ``run_raw``): checking a driver connection out with its errors
wrapped as SQLAlchemy's, executing a compiled statement or a bare command on it, running
one statement in autocommit with a verb's retries (:meth:`RawCalls._call_raw`), and the
retry attempts (``attempts.py``) every path of the backend makes for a verb.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import Executable

from transact._store.sql.engine.attempts import Attempts, EarlierCommit
from transact._store.sql.engine.compiled import RawStatement
from transact._store.sql.engine.driver import execute, rowcount, wrap_error
from transact._store.sql.engine.errors import OnError, Phase, Violation
from transact._store.sql.engine.modes import Mode
from transact._store.sql.engine.raw import RawResult
from transact._store.sql.engine.writers import Writers

__all__ = ["RawCalls", "earlier_result"]

T = TypeVar("T")


class RawCalls(Writers):
    """The raw-driver side of ``Backend`` (its base class; ``Backend`` sets the fields)."""

    retry_delays: tuple[float, ...]
    retry_timeout: float
    reached: bool
    _autocommit: bool
    _compiled: Callable[[Executable, Mapping[str, Any]], RawStatement]

    def _raw_connection(self, mode: Mode) -> Any:
        """:meth:`checkout`, its driver error (if any) as SQLAlchemy's."""
        try:
            return self.checkout(mode)
        except self._dbapi_error as exc:
            raise wrap_error(self.engine, exc, RawStatement("", None, {}), (), fairy=None) from exc

    def _execute_raw(self, fairy: Any, stmt: Executable, params: Mapping[str, Any]) -> RawResult:
        raw = self._compiled(stmt, params)
        args = raw.args(params)
        try:
            cursor = execute(fairy, raw.sql, args)
            rows = cursor.fetchall() if cursor.description is not None else []
            return RawResult(int(cursor.rowcount), rows)
        except self._dbapi_error as exc:
            raise wrap_error(self.engine, exc, raw, args, fairy=fairy) from exc

    def _execute_text(self, fairy: Any, sql: str) -> None:
        try:
            fairy.dbapi_connection.execute(sql)
        except self._dbapi_error as exc:
            raise wrap_error(
                self.engine, exc, RawStatement(sql, None, {}), (), fairy=fairy
            ) from exc

    def _execute_alone(
        self,
        raw: RawStatement,
        args: Any,
        on_error: OnError,
        *,
        in_doubt: bool = False,
        settle: Callable[[], int] | None = None,
    ) -> int:
        """Run one compiled statement in autocommit, with retries; its rowcount (1 when
        a retry finds that an in-doubt earlier try committed it). ``in_doubt``: a try
        (of a batch) may already have committed it. ``settle``: whether a try in doubt
        did write the row (1) or not (0), asked instead of running the statement again
        (an insert that attaches to an existing id would find its own row and report an
        attach)."""
        if settle is None:
            return self._call_raw(
                raw, args, on_error, Mode.WRITE_ONE, rowcount, committed=_one_row, in_doubt=in_doubt
            )
        if in_doubt and settle():
            return 1
        return self._call_raw(raw, args, on_error, Mode.WRITE_ONE, rowcount, settle=settle)

    def _call_raw(
        self,
        raw: RawStatement,
        args: Any,
        on_error: OnError,
        mode: Mode,
        result: Callable[[Any], T],
        *,
        committed: Callable[[], T] | None = None,
        in_doubt: bool = False,
        settle: Callable[[], T] | None = None,
        retry_on: frozenset[Violation] = frozenset(),
    ) -> T:
        """Run ``raw`` on a pooled driver connection with ``mode``'s retries; return
        ``result`` of its cursor (``committed()`` if a retry finds the earlier, in-doubt
        try committed)."""
        # Made on a first failure: the hot path skips it.
        attempt = self._attempts(mode, on_error, retry_on, autocommit=True) if in_doubt else None
        if attempt is not None:
            attempt.in_doubt = True
        while True:
            phase = Phase.CONNECT
            try:
                try:
                    fairy = self._raw_connection(mode)
                except SQLAlchemyError as exc:
                    attempt = attempt or self._attempts(mode, on_error, retry_on, autocommit=True)
                    attempt.failed(exc, phase)
                    continue
                failed = False
                try:
                    phase = Phase.EXECUTE
                    outcome = result(execute(fairy, raw.sql, args))
                    if attempt is not None:
                        attempt.succeeded()
                    return outcome
                except self._dbapi_error as exc:
                    wrapped = wrap_error(self.engine, exc, raw, args, fairy=fairy)
                    # A statement that failed in autocommit leaves its connection clean,
                    # unless the connection itself is gone.
                    failed = bool(getattr(wrapped, "connection_invalidated", False))
                    attempt = attempt or self._attempts(mode, on_error, retry_on, autocommit=True)
                    attempt.failed(wrapped, phase)
                    if attempt.in_doubt and settle is not None:
                        return settle()
                finally:
                    self.checkin(fairy, failed=failed)
            except EarlierCommit as earlier:
                return earlier_result(earlier, committed)

    def _attempts(
        self,
        mode: Mode,
        on_error: OnError,
        retry_on: frozenset[Violation] = frozenset(),
        *,
        autocommit: bool | None = None,
    ) -> Attempts:
        """The attempts of one verb run in ``mode``. ``autocommit``: whether each of its
        statements commits by itself (by default, as :meth:`Backend.run` runs ``mode``)."""
        if autocommit is None:
            autocommit = self._autocommit and mode is not Mode.WRITE
        return Attempts(
            url=self.url,
            delays=self.retry_delays,
            on_error=on_error,
            read=mode is Mode.READ,
            autocommit=autocommit,
            retry_on=retry_on,
            timeout=self.retry_timeout if self.reached else None,
        )


def _one_row() -> int:  # the rowcount of a write an earlier try committed
    return 1


def earlier_result(earlier: EarlierCommit, committed: Callable[[], T] | None) -> T:
    """The result of a verb whose in-doubt earlier try committed: ``committed()``, or
    without it the clash's error (the verb cannot tell its own result)."""
    if committed is None:
        raise earlier.conflict from earlier
    return committed()
