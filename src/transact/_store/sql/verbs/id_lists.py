"""How a statement binds a list of workflow ids: one array on Postgres, an ``IN`` list on
SQLite.

On Postgres the ids bind as one ``text[]`` parameter compared with ``= ANY``: one
statement text whatever the number of ids, which psycopg prepares after a few runs and
the raw paths (``Backend.fetch``) can run. As an expanding ``IN``, each id was a
parameter of its own: the statement rebuilt by SQLAlchemy and parsed again by the driver
at every call (a tenth of a process's CPU when the watchdog counted 60,000 waiting
workflows), and each list length a statement of its own for the server to plan. SQLite
keeps the ``IN`` list, which its planner reads as lookups by key (a ``json_each``
subquery made it scan in creation order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Text, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

__all__ = ["ID_ARRAY", "among_array", "among_ids"]

ID_ARRAY = bindparam("ids", type_=ARRAY(Text))
"""Postgres: the ``ids`` parameter as one array (a ``list`` of ids binds to it)."""
_ID_LIST = bindparam("ids", expanding=True, type_=Text)


def among_ids(column: ColumnElement[Any], *, postgres: bool) -> ColumnElement[bool]:
    """``column`` among the statement's ``ids`` parameter (a list of ids, given at each
    execution; at most ``IDS_PER_STATEMENT`` of them on SQLite)."""
    return column == any_(ID_ARRAY) if postgres else column.in_(_ID_LIST)


def among_array(column: ColumnElement[Any], ids: Sequence[str]) -> ColumnElement[bool]:
    """Postgres: ``column`` among ``ids``, bound into the statement as one array (a
    listing's filter)."""
    return column == any_(bindparam(None, list(ids), type_=ARRAY(Text)))
