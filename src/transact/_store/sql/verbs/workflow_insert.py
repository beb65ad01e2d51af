"""The statement that inserts a workflow's row unless a row holds its id already: the
insert that starts every workflow, on each database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from transact._store.notifications import QUEUE_KEY_PREFIX
from transact._store.sql.engine.batching import Batch
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.verbs.notify import NOTIFY_KEY, QUEUE_CHANNEL
from transact._store.sql.verbs.orphans import orphan_deletes
from transact._store.sql.verbs.workflow_rows import COLUMN_OF, FIELDS, ws

__all__ = ["batched_insert", "insert_or_attach"]

_c = ws.c


def _insert_or_attach_sqlite() -> Any:
    # The conflict target is the id only: a clash on the dedup index must still raise.
    return sqlite.insert(ws).on_conflict_do_nothing(index_elements=[_c.workflow_uuid])


def _insert_or_attach_postgres(*, orphans: bool, announce: bool) -> Any:
    """Postgres: the same insert. With ``orphans``, it first deletes the checkpoints,
    stream values and events left under the id when no workflow has it (``orphans.py``),
    in the same statement: the deletes ride along as data-modifying CTEs. With
    ``announce``, a row it inserts sends the ``notify_key`` notification on the queue
    channel (``notify.py``): no row, and no notification, when the id exists."""
    columns = [COLUMN_OF[name] for name in FIELDS]
    deletes = orphan_deletes(":workflow_uuid") if orphans else []
    ctes = ", ".join(f"orphans_{n} AS ({sql})" for n, sql in enumerate(deletes))
    returning = f"RETURNING pg_notify('{QUEUE_CHANNEL}', :{NOTIFY_KEY})" if announce else ""
    return text(
        f"""
{f"WITH {ctes}" if ctes else ""}
INSERT INTO {POSTGRES_SCHEMA}.workflow_status ({", ".join(f'"{c}"' for c in columns)})
VALUES ({", ".join(f":{c}" for c in columns)})
ON CONFLICT (workflow_uuid) DO NOTHING
{returning}
"""
    )


# By (dialect, fresh_id, announce). A fresh id (``Store.insert_workflow``'s ``fresh_id``)
# has no orphans to delete: its four deletes cost about a sixth of the insert's server
# time (about 50 us of 300 measured). Announcing in the insert saves the separate
# ``publish`` statement (with the queue channel, a client's enqueue went from 749-792 to
# 457-506 us).
_STATEMENTS = {
    **{
        ("postgresql", fresh, announce): _insert_or_attach_postgres(
            orphans=not fresh, announce=announce
        )
        for fresh in (False, True)
        for announce in (False, True)
    },
    **{("sqlite", fresh, False): _insert_or_attach_sqlite() for fresh in (False, True)},
}


def insert_or_attach(dialect: str, *, fresh_id: bool, announce: bool = False) -> Any:
    """The statement inserting a workflow's row unless its id exists, on ``dialect``
    (``fresh_id``, ``announce``: see ``Store.insert_workflow``; SQLite never announces)."""
    return _STATEMENTS[(dialect, fresh_id, announce)]


def batched_insert(*, announce: bool) -> Batch:
    """Postgres: the insert of a fresh id as a batch (``batching.py``), so that concurrent
    starts and enqueues (a web server's threads) share one statement and one commit."""
    return _BATCHES[announce]


def _batch(announce: bool) -> Batch:
    # Each column from an array of its own type; a row's id that exists already is not
    # returned, so its write runs alone and attaches. The announcement is computed from
    # the inserted row (RETURNING cannot see the arrays): the key of its queue.
    columns = [COLUMN_OF[name] for name in FIELDS]
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays = ", ".join(f"%({c})s::{ws.c[c].type.compile(dialect=dialect)}[]" for c in columns)
    notify = f", pg_notify('{QUEUE_CHANNEL}', '{QUEUE_KEY_PREFIX}' || queue_name)"
    return Batch(
        name=f"insert_workflow{'_announced' if announce else ''}",
        sql=f"""
INSERT INTO {POSTGRES_SCHEMA}.workflow_status ({", ".join(f'"{c}"' for c in columns)})
SELECT * FROM unnest({arrays})
ON CONFLICT (workflow_uuid) DO NOTHING
RETURNING workflow_uuid{notify if announce else ""}
""",
        params=tuple(columns),
        key=("workflow_uuid",),
        retry_unwritten=True,
    )


_BATCHES = {announce: _batch(announce) for announce in (False, True)}
