"""Statements compiled once to the driver's SQL, for the raw paths of ``Backend``.

SQLAlchemy compiles a statement for every execution unless its cache hits, and its
execution layer costs more than a short statement's round trip. The raw paths
(``execute_one``, ``fetch``, ``run_raw``, ...) instead compile each (statement, parameter
names) pair once here, and hand the driver the SQL text and the arguments directly.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from sqlalchemy import Engine
from sqlalchemy.sql.expression import Executable

__all__ = ["RawStatement", "StatementCache"]


@attrs.frozen
class RawStatement:
    """A statement compiled once to the driver's SQL text, with its parameter order (for
    positional paramstyles; None: the driver takes the named dict as it is)."""

    sql: str
    positions: tuple[str, ...] | None = None
    fixed: Mapping[str, Any] = attrs.field(factory=dict)
    """Values the statement binds itself (``.values(column=None)``, literals)."""
    _pick: Callable[[Mapping[str, Any]], Any] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_pick", _picker(self.positions))

    def args(self, params: Mapping[str, Any]) -> Any:
        """The driver's arguments for ``params``."""
        if self.fixed:
            params = {**self.fixed, **params}
        return self._pick(params)


def _picker(positions: tuple[str, ...] | None) -> Callable[[Mapping[str, Any]], Any]:
    """The function taking a statement's arguments from its named parameters: the dict
    itself (named paramstyle), else a tuple in ``positions`` order, picked in C by
    ``itemgetter`` (a generator over the names cost 1-2 us per statement)."""
    if positions is None:
        return lambda params: params
    if len(positions) == 1:
        (name,) = positions
        return lambda params: (params[name],)
    if not positions:
        return lambda params: ()
    return operator.itemgetter(*positions)


class StatementCache:
    """The compiled form of each statement run raw on ``engine``'s dialect.

    Only for statements whose parameters and columns need no type conversion (text,
    integers, None) and that bind no expanding ``IN`` parameter.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._compiled: dict[tuple[int, tuple[str, ...]], RawStatement] = {}

    def get(self, stmt: Executable, params: Mapping[str, Any]) -> RawStatement:
        """``stmt`` compiled for the parameter names of ``params`` (once)."""
        key = (id(stmt), tuple(params))
        raw = self._compiled.get(key)
        if raw is None:
            raw = self._compiled[key] = self._compile(stmt, params)
        return raw

    def _compile(self, stmt: Executable, params: Mapping[str, Any]) -> RawStatement:
        engine = self._engine
        translate_map = engine.get_execution_options().get("schema_translate_map")
        schema_options: dict[str, Any] = (
            {}
            if translate_map is None
            else {"schema_translate_map": translate_map, "render_schema_translate": True}
        )
        compiled = stmt.compile(  # type: ignore[attr-defined]
            dialect=engine.dialect, column_keys=list(params), **schema_options
        )
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("a raw statement cannot bind an expanding IN parameter")
        positions = tuple(compiled.positiontup) if compiled.positional else None
        fixed = {
            name: value
            for name, value in compiled.construct_params(_check=False).items()
            if name not in params
        }
        return RawStatement(compiled.string, positions, fixed)
