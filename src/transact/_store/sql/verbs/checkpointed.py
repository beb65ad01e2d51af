"""Postgres: a verb's own writes and its checkpoint in one autocommit statement.

``send``, ``recv`` and ``set_event`` in workflow code write a checkpoint together with
their own rows. As a transaction that is BEGIN, a round trip per statement and COMMIT:
four or five round trips on Postgres, where one statement in autocommit costs one.
Postgres's data-modifying CTEs make it one statement (``Mode.WRITE_ONE``)::

    WITH ck AS (INSERT INTO operation_outputs ... WHERE <the workflow is PENDING>
                RETURNING 1)
    INSERT INTO notifications (...) SELECT ... FROM ck

The verb's rows are selected FROM ``ck``, so they are written only if the checkpoint
was; an error anywhere (a checkpoint conflict, a missing destination) fails the whole
statement, so nothing is half written. SQLite has no data-modifying CTEs; there the
verbs keep their transaction, whose extra statements cost no round trip.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, bindparam, literal_column, select
from sqlalchemy.dialects import postgresql

from transact._store.sql.schema.tables import operation_outputs
from transact._store.sql.verbs.checkpoints import CHECKPOINT_BINDS, WORKFLOW_PENDING

__all__ = ["CHECKPOINT_COLUMNS", "checkpoint_cte", "checkpoint_values"]

CHECKPOINT_COLUMNS = [column for column, _, _ in CHECKPOINT_BINDS]
"""The columns of ``operation_outputs`` a checkpoint insert fills, in order."""


def checkpoint_values(output: ColumnElement[Any] | None = None) -> Select[Any]:
    """SELECT of the checkpoint's bound values (``checkpoints.checkpoint_params``), in
    :data:`CHECKPOINT_COLUMNS` order; ``output`` replaces the bound output."""
    return select(
        *(
            output if output is not None and name == "ck_output" else bindparam(name, type_=type_)
            for _, name, type_ in CHECKPOINT_BINDS
        )
    )


def checkpoint_cte() -> CTE:
    """``ck``: the guarded checkpoint insert, returning one row if it recorded it."""
    insert = postgresql.insert(operation_outputs).from_select(
        CHECKPOINT_COLUMNS, checkpoint_values().where(WORKFLOW_PENDING)
    )
    return insert.returning(literal_column("1").label("recorded")).cte("ck")
