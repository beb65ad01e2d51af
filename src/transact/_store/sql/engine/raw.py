"""A verb's transaction on the raw driver connection (``Backend.run_raw``).

SQLAlchemy's ``Connection.execute`` costs more than a short statement's round trip
(~100 us per call on Postgres, measured in ``benchmarks/PROFILE.md``). The hot
multi-statement verbs (a send or a consume with its checkpoint on SQLite) run their
statements through a :class:`RawConnection` instead: each statement compiled once by the
backend, executed on the driver connection, with just the parts of a result the verbs
read (``rowcount``, ``scalar()``, the rows). Driver errors come out as SQLAlchemy's
(``DBAPIError``), so ``Backend`` retries and translates them as it does for ``run``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.sql.expression import Executable

__all__ = ["RawConnection", "RawResult"]


class RawResult:
    """What a statement run raw returned: its rowcount and its rows (as tuples)."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rowcount: int, rows: list[tuple[Any, ...]]) -> None:
        self.rowcount = rowcount
        self.rows = rows

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        return self.rows[0][0] if self.rows else None


class RawConnection:
    """A driver connection inside one transaction of a verb (see the module docstring)."""

    def __init__(self, run: Callable[[Executable, Mapping[str, Any]], RawResult]) -> None:
        self._run = run

    def execute(self, stmt: Executable, params: Mapping[str, Any]) -> RawResult:
        """Run ``stmt`` (compiled once per parameter set) with ``params``."""
        return self._run(stmt, params)
