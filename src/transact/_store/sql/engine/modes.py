"""The kinds of work a verb does (:class:`Mode`), and how bulk verbs cut their ids."""

from __future__ import annotations

import enum
from collections.abc import Sequence

__all__ = ["IDS_PER_STATEMENT", "READ_OPTION", "Mode", "chunked"]

READ_OPTION = "transact_read"
"""Execution option the SQLite ``begin`` hook reads: set on reads, which take no lock."""

IDS_PER_STATEMENT = 500
"""How many ids a bulk verb binds in one statement: far below SQLite's limit on bound
parameters (32,766), and few enough for Postgres to plan the ``IN`` list well."""


def chunked(ids: Sequence[str]) -> list[Sequence[str]]:
    """``ids`` cut into slices of at most :data:`IDS_PER_STATEMENT`."""
    return [ids[i : i + IDS_PER_STATEMENT] for i in range(0, len(ids), IDS_PER_STATEMENT)]


class Mode(enum.Enum):
    """The kind of work a verb does, which decides its transaction."""

    READ = "read"
    """Reads only. Postgres: autocommit (no BEGIN/COMMIT round trips); SQLite: no lock."""
    WRITE_ONE = "write_one"
    """Exactly one statement that writes. Postgres: autocommit, so the statement is its own
    transaction and costs one round trip. SQLite: autocommit through
    :meth:`Backend.execute_one` and :meth:`Backend.run_raw`, BEGIN IMMEDIATE ... COMMIT
    through :meth:`Backend.run`."""
    WRITE = "write"
    """Several statements that must commit together: BEGIN (IMMEDIATE on SQLite) ... COMMIT."""
