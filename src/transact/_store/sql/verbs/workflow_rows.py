"""Workflow status rows: ``WorkflowRecord`` <-> columns, and the status conditions.

Shared by the workflow verbs (``workflows.py``), their listing (``workflow_list.py``),
queues and maintenance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from sqlalchemy import (
    ColumnElement,
    literal_column,
    true,
)
from sqlalchemy.engine import RowMapping

from transact._core.status import StatusEvent, sources
from transact._store.records import WorkflowRecord
from transact._store.sql.schema.tables import workflow_status

__all__ = [
    "ACTIVE_STATUSES",
    "COLUMN_OF",
    "FIELDS",
    "keyed",
    "lit",
    "record_values",
    "row_columns",
    "row_to_record",
    "status_in",
    "ws",
]

ws = workflow_status
_c = ws.c

# WorkflowRecord field -> column: the same names, except the id (DBOS's column name).
FIELDS: tuple[str, ...] = tuple(f.name for f in attrs.fields(WorkflowRecord))
COLUMN_OF = {name: ("workflow_uuid" if name == "workflow_id" else name) for name in FIELDS}
_INPUT_FIELDS = frozenset({"inputs"})
_OUTPUT_FIELDS = frozenset({"output", "error"})
ACTIVE_STATUSES = ("PENDING", "ENQUEUED", "DELAYED")


def lit(value: str) -> ColumnElement[Any]:
    """A constant status inlined in the SQL: it lets Postgres match partial indexes, and
    constants never vary between executions, so the statement cache is unaffected."""
    return literal_column(f"'{value}'")


def keyed(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``(condition) IS TRUE``: a status guard of rows a write finds by their key.

    Postgres can match no index to it, so the key's index is the only way to the rows.
    Written plainly (``status = 'PENDING'``), statistics taken while few rows were
    PENDING let the planner reach the row through a status index instead, walking every
    PENDING row of ``idx_workflow_status_status`` (5 ms a finish with 100,000 workflows
    waiting); a prepared statement's cached plan kept doing so until the next ANALYZE.
    """
    return condition.is_(true())


def status_in(event: StatusEvent) -> ColumnElement[bool]:
    """``status IN (...)``, the statuses from which ``event`` is legal, as a guard of rows
    found by their key (:func:`keyed`)."""
    statuses = [lit(s.value) for s in sorted(sources(event), key=lambda s: s.value)]
    return keyed(_c.status.in_(statuses))


def record_values(record: WorkflowRecord) -> dict[str, Any]:
    """The column values of ``record``."""
    return {COLUMN_OF[name]: getattr(record, name) for name in FIELDS}


def row_to_record(row: RowMapping | Mapping[str, Any]) -> WorkflowRecord:
    """The record of a result row; columns the query skipped come back as None."""
    values = {name: row.get(COLUMN_OF[name]) for name in FIELDS}
    values["was_forked_from"] = bool(values["was_forked_from"])
    values["is_debounced"] = bool(values["is_debounced"])
    return WorkflowRecord(**values)  # type: ignore[arg-type]  # checked by the schema


def row_columns(load_input: bool, load_output: bool) -> list[ColumnElement[Any]]:
    """The columns of a row read with or without its input and its outcome."""
    skipped = (set() if load_input else _INPUT_FIELDS) | (set() if load_output else _OUTPUT_FIELDS)
    return [_c[COLUMN_OF[name]] for name in FIELDS if name not in skipped]
