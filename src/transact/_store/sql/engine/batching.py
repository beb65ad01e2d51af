"""Batched writes (Postgres): concurrent calls of one hot write become one statement.

Each step's checkpoint and each workflow's outcome is one autocommit statement. When
many workflows run at once (recovery, queues, ``start_workflow`` bursts), the client
spends more CPU per statement (~35 us in psycopg and the pool) than the server, and on
2 cores that CPU is the bound. So the callers of one such write queue up while another
caller's statement is under way (the leader/follower queue of ``group_commit.py``), and
the next leader writes the whole queue with one statement over ``unnest`` arrays: ~15 us
of client CPU per write instead of ~50 (``benchmarks/PROFILE.md``). A caller writing
alone runs the single-row statement, with no wait.

Each caller still returns only after the commit of the statement holding its row, with
its own outcome: the batched statement returns the key of every row it wrote; a write it
did not write either wrote nothing by its own rules (``retry_unwritten=False``: the
finish of a workflow that is no longer PENDING) or is run again alone, where it gets its
exact error (``retry_unwritten=True``: a checkpoint that clashed or whose workflow is not
PENDING). A statement the server refused (a constraint, a lost race) did nothing, so
every write then runs alone; a connection lost during the statement leaves its outcome
unknown, so every write then runs alone *in doubt*: with the retries of a lone write
whose commit is in doubt, which recognise a row the batch did write.
"""

from __future__ import annotations

from typing import Any

import attrs

from transact._store.sql.engine.connections import Write, WriteConnections
from transact._store.sql.engine.driver import execute

__all__ = ["Batch", "write_batched"]


@attrs.frozen
class Batch:
    """How many calls of one single-row write are written by one statement."""

    name: str
    sql: str
    """The statement over ``unnest`` of one array per name in ``params`` (psycopg's
    ``%(name)s`` placeholders); it returns the ``key`` of each row it wrote first."""
    params: tuple[str, ...]
    key: tuple[str, ...]
    """The parameters that name a write's row, in the order the statement returns them."""
    retry_unwritten: bool
    """Whether a write the statement did not write runs again alone (for its error)."""


def write_batched(backend: WriteConnections, batch: Batch, writes: list[Write]) -> None:
    """Write ``writes`` with ``batch``'s statement and set the outcome of those it settles;
    the caller runs the ones left undone alone."""
    rows: list[Write] = []
    seen: set[tuple[Any, ...]] = set()
    for write in writes:
        key = _key(batch, write.args)
        if key not in seen:  # a second write of one row runs alone, after the first
            seen.add(key)
            rows.append(write)
    if len(rows) < 2:
        return
    arrays = {name: [write.args[name] for write in rows] for name in batch.params}
    try:
        fairy = backend.checkout_writer()
    except Exception:
        return  # each write connects (and retries) alone
    lost = False
    try:
        returned = execute(fairy, batch.sql, arrays).fetchall()
    except backend.dbapi_error as exc:
        if _lost(backend, exc, fairy):
            lost = True
            fairy.invalidate()  # not back into the pool: its session is gone
            for write in rows:
                write.in_doubt = True
        return
    finally:
        backend.checkin(fairy, failed=lost)
    written = {tuple(row[: len(batch.key)]) for row in returned}
    for write in rows:
        if _key(batch, write.args) in written:
            write.rowcount = 1
            write.done = True
        elif not batch.retry_unwritten:
            write.rowcount = 0
            write.done = True


def _key(batch: Batch, args: Any) -> tuple[Any, ...]:
    return tuple(args[name] for name in batch.key)


def _lost(backend: WriteConnections, exc: Exception, fairy: Any) -> bool:
    """Whether the batched statement was cut off with its connection (so it may have
    committed), rather than refused by the server (it did nothing)."""
    dialect = backend.engine.dialect
    return bool(dialect.is_disconnect(exc, fairy.dbapi_connection, None))  # type: ignore[arg-type]
