"""``list_workflows``'s statement: a ``WorkflowQuery`` as one SELECT."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Select,
    Text,
    bindparam,
    false,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles

from transact._store.records import WorkflowQuery
from transact._store.sql.verbs.id_lists import among_array
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
    keyed = _one_value_page(q) if dialect == "postgresql" else None
    if keyed is None:
        where, columns = _where(q, dialect), [_c.created_at, _c.workflow_uuid]
    else:
        where, columns = _index_range(q, *keyed), [keyed[0], _c.created_at, _c.workflow_uuid]
    stmt = (
        select(*row_columns(q.load_input, q.load_output))
        .where(*where)
        .order_by(*(column.desc() if q.sort_desc else column for column in columns))
    )
    if q.limit is not None:
        stmt = stmt.limit(q.limit)
    if q.offset:
        stmt = stmt.offset(q.offset)
    return stmt


# A page of one status, one name or one queue, on Postgres: read in the order of the column's
# listing index (column, created_at, workflow_uuid) and stopped by the LIMIT. Written
# ``column = value``, the plan hangs on how many rows the statistics expect: none taken
# yet, or taken before a burst of that value, expect a few dozen, and for fewer rows than
# a page the planner collects every match through a bitmap scan and sorts them (20,000
# for a page of 100 in bench-scale at 10,000: 6-15 ms instead of 0.1). As a range of
# the index, ``(column, created_at)`` from ``(value, first)`` to ``(value, last)``, the
# value in a subquery the planner does not look into, the estimate is the default of two
# inequalities (a ninth of the table), more than a page, whatever the statistics. Only
# with no filter but the creation window: another filter may have a better index, which
# the column leading the order would rule out.
_FIRST, _LAST = -(2**63), 2**63 - 1
_UNFILTERED = WorkflowQuery()


def _one_value_page(q: WorkflowQuery) -> tuple[Any, str] | None:
    """The column and value of a page of one status, name or queue and no other filter."""
    rest = attrs.evolve(
        q,
        statuses=None,
        names=None,
        queue_names=None,
        created_after=None,
        created_before=None,
        load_input=True,
        load_output=True,
        limit=None,
        offset=None,
        sort_desc=False,
    )
    if q.limit is None or rest != _UNFILTERED:
        return None
    indexed = (_c.status, q.statuses), (_c.name, q.names), (_c.queue_name, q.queue_names)
    used = [(column, values) for column, values in indexed if values is not None]
    if len(used) == 1 and len(used[0][1]) == 1:
        return used[0][0], used[0][1][0]
    return None


def _index_range(q: WorkflowQuery, column: Any, value: str) -> list[ColumnElement[bool]]:
    """``column = value`` and the creation window, as one range of the listing index."""
    unseen = select(bindparam(None, value, type_=Text)).scalar_subquery()

    def bound(created: int | None, default: int) -> Any:
        at = default if created is None else created
        return tuple_(unseen, bindparam(None, at, type_=BigInteger))

    low, high = bound(q.created_after, _FIRST), bound(q.created_before, _LAST)
    return [
        tuple_(column, _c.created_at) >= low,
        tuple_(column, _c.created_at) <= high,
        # Implied by the range, but the planner proves a partial index's predicate (the
        # queue-name index holds only rows with a queue) from plain conditions only.
        column.isnot(None),
    ]


def count_statement(q: WorkflowQuery, dialect: str) -> Select[Any]:
    """``(status, count)`` of the rows matching ``q``'s filters (its paging ignored)."""
    return select(_c.status, func.count()).where(*_where(q, dialect)).group_by(_c.status)


def _ids(ids: Sequence[str] | None, dialect: str) -> list[ColumnElement[bool]]:
    """The workflow-id filter: one array on Postgres (``id_lists.py``; the watchdog counts
    10,000 at a time), the ``IN`` list on SQLite."""
    if ids is None or dialect != "postgresql":
        return _in(_c.workflow_uuid, ids)
    return [among_array(_c.workflow_uuid, ids)]


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
