"""``list_workflows``'s statement: a ``WorkflowQuery`` as one SELECT."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    Text,
    any_,
    bindparam,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles

from transact._store.records import WorkflowQuery
from transact._store.sql.verbs.workflow_rows import (
    ACTIVE_STATUSES,
    lit,
    row_columns,
    ws,
)

__all__ = ["count_statement", "list_statement"]

_c = ws.c


def _in(column: Any, values: Sequence[str] | None) -> list[ColumnElement[bool]]:
    return [] if values is None else [column.in_(list(values))]


def _between(column: Any, low: int | None, high: int | None) -> list[ColumnElement[bool]]:
    where = []
    if low is not None:
        where.append(column >= low)
    if high is not None:
        where.append(column <= high)
    return where


def list_statement(q: WorkflowQuery, dialect: str) -> Select[Any]:
    """The SELECT for ``q`` on ``dialect``. Its shape varies with the filters used;
    SQLAlchemy caches one compiled form per shape, and ``IN`` lists bind as one
    expanding parameter (the ids on Postgres as one array, see ``_ids``)."""
    order = (
        (_c.created_at.desc(), _c.workflow_uuid.desc())
        if q.sort_desc
        else (_c.created_at, _c.workflow_uuid)
    )
    stmt = (
        select(*row_columns(q.load_input, q.load_output))
        .where(*_where(q, dialect))
        .order_by(*order)
    )
    if q.limit is not None:
        stmt = stmt.limit(q.limit)
    if q.offset:
        stmt = stmt.offset(q.offset)
    return stmt


def count_statement(q: WorkflowQuery, dialect: str) -> Select[Any]:
    """``(status, count)`` of the rows matching ``q``'s filters (its paging ignored)."""
    return select(_c.status, func.count()).where(*_where(q, dialect)).group_by(_c.status)


def _ids(ids: Sequence[str] | None, dialect: str) -> list[ColumnElement[bool]]:
    """The workflow-id filter. On Postgres the ids bind as one array: the watchdog counts
    10,000 at a time, and as an expanding ``IN`` each id was a parameter of its own, the
    statement rebuilt and re-parsed by the driver at every call (a tenth of a process's
    CPU with 60,000 workflows waiting). SQLite keeps the ``IN`` list, which its planner
    reads as lookups by key (a ``json_each`` subquery made it scan in creation order)."""
    if ids is None or dialect != "postgresql":
        return _in(_c.workflow_uuid, ids)
    return [_c.workflow_uuid == any_(bindparam(None, list(ids), type_=ARRAY(Text)))]


def _where(q: WorkflowQuery, dialect: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        *_ids(q.workflow_ids, dialect),
        *_in(_c.status, q.statuses),
        *_in(_c.name, q.names),
        *_in(_c.application_version, q.application_versions),
        *_in(_c.executor_id, q.executor_ids),
        *_in(_c.queue_name, q.queue_names),
        *_in(_c.parent_workflow_id, q.parent_workflow_ids),
        *_in(_c.forked_from, q.forked_from),
        *_in(_c.authenticated_user, q.users),
        *_in(_c.application_name, q.application_names),
        *_in(_c.schedule_name, q.schedule_names),
        *_between(_c.created_at, q.created_after, q.created_before),
        *_between(_c.completed_at, q.completed_after, q.completed_before),
        *_between(_c.started_at_epoch_ms, q.dequeued_after, q.dequeued_before),
    ]
    if q.workflow_id_prefixes is not None:
        # substr() rather than LIKE: SQLite's LIKE ignores case, and a prefix may hold
        # LIKE's wildcards.
        where.append(
            _or(
                func.substr(_c.workflow_uuid, 1, len(prefix)) == prefix
                for prefix in q.workflow_id_prefixes
            )
        )
    if q.queues_only:
        where.append(_c.queue_name.isnot(None))
        if q.statuses is None:
            where.append(_c.status.in_([lit(s) for s in ACTIVE_STATUSES]))
    if q.was_forked_from is not None:
        where.append(_c.was_forked_from.is_(q.was_forked_from))
    if q.attributes is not None:
        where.append(AttributesContain(q.attributes))
    if q.has_parent is not None:
        where.append(
            _c.parent_workflow_id.isnot(None) if q.has_parent else _c.parent_workflow_id.is_(None)
        )
    return where


class AttributesContain(ColumnElement[bool]):
    """``attributes`` holds every key of a JSON object with an equal value
    (``query.attributes_match``): Postgres's ``@>`` on JSONB; on SQLite one
    ``json_extract`` comparison per key, both sides extracted alike so types agree."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted


@compiles(AttributesContain, "postgresql")
def _contain_pg(element: AttributesContain, compiler: Any, **kw: Any) -> str:
    wanted = compiler.process(bindparam(None, element.wanted, type_=Text), **kw)
    column = compiler.process(_c.attributes, **kw)
    return f"(CAST({column} AS JSONB) @> CAST({wanted} AS JSONB))"


@compiles(AttributesContain, "sqlite")
def _contain_sqlite(element: AttributesContain, compiler: Any, **kw: Any) -> str:
    keys = list(json.loads(element.wanted))
    if not keys:
        return "(attributes IS NOT NULL)"
    column = compiler.process(_c.attributes, **kw)
    wanted = compiler.process(bindparam(None, element.wanted, type_=Text), **kw)
    terms = []
    for key in keys:
        path = compiler.process(bindparam(None, '$."' + key + '"', type_=Text), **kw)
        terms.append(
            f"(json_type({column}, {path}) IS json_type({wanted}, {path}) AND "
            f"json_extract({column}, {path}) IS json_extract({wanted}, {path}))"
        )
    return "(" + " AND ".join(terms) + ")"


def _or(conditions: Any) -> ColumnElement[bool]:
    terms = list(conditions)
    return or_(*terms) if terms else false()
