"""Postgres: who listens for workflows' outcomes, so that nobody else pays to notify them.

A notifying transaction holds a database-wide lock from before its commit until after
it, and gets a transaction id: Postgres queues notifications in commit order. Such
commits never share a WAL flush (measured with four writers: 1,010-1,550 commits a
second with ``pg_notify``, 2,013-2,647 without; ``benchmarks/PROFILE.md``). A workflow's
outcome is notified on ``transact_outcomes`` only for processes awaiting results they do
not run themselves, often none at all; so a process that listens there first registers
its listening session in ``transact.outcome_listeners``, and a finish notifies only if
the table has a row (``ANY_LISTENER``, evaluated once per statement).

No outcome is missed, by the order of locks: a finish reads the table, holding its
``ACCESS SHARE`` lock until it commits, and takes that lock before its snapshot; a
registration takes ``ACCESS EXCLUSIVE``, so it waits for every finish already reading
the table, and every finish after it waits for its commit and then sees its row. Once
the registration has committed, each finish either committed before it (the waiter's
next read of the row sees the outcome) or notifies. The listener registers after its
``LISTEN`` and before it reports itself connected, on every (re)connection; stale rows
(sessions that are gone) are deleted by the next registration, and cost only
notifications nobody hears. A registration waits for its lock only briefly
(``REGISTER_LOCK_TIMEOUT``); if it gives up, the listener reports itself connected
anyway and tries again later, and meanwhile its waiters may learn of an outcome only
by their periodic re-check.
"""

from __future__ import annotations

from sqlalchemy import Connection

from transact._store.sql.schema.tables import POSTGRES_SCHEMA

__all__ = [
    "ANY_LISTENER",
    "OUTCOME_LISTENERS",
    "REGISTER",
    "REGISTER_LOCK_TIMEOUT",
    "UNREGISTER",
    "create_outcome_listeners",
]

OUTCOME_LISTENERS = f"{POSTGRES_SCHEMA}.outcome_listeners"

ANY_LISTENER = f"EXISTS (SELECT 1 FROM {OUTCOME_LISTENERS})"
"""Whether any session listens for outcomes: the condition of a finish's notification."""

REGISTER_LOCK_TIMEOUT = "50ms"
"""How long a registration waits for its lock. Finishes take milliseconds; something
holding the table longer (a ``pg_dump`` reads it for the whole dump) would have every
finish queue behind the waiting registration, so it gives up and tries again later."""

REGISTER = (
    f"SET LOCAL lock_timeout = '{REGISTER_LOCK_TIMEOUT}'",
    f"LOCK TABLE {OUTCOME_LISTENERS} IN ACCESS EXCLUSIVE MODE",
    f"""DELETE FROM {OUTCOME_LISTENERS} AS l WHERE NOT EXISTS (
        SELECT 1 FROM pg_stat_activity AS a
        WHERE a.pid = l.pid
            AND (a.backend_start = l.backend_start OR a.backend_start IS NULL))""",
    f"""INSERT INTO {OUTCOME_LISTENERS} (pid, backend_start)
        SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()
        ON CONFLICT DO NOTHING""",
)
"""The statements, in one transaction on the listening session, that register it. A
session of another role shows no ``backend_start`` without ``pg_read_all_stats``: its
row is kept while its pid lives."""

UNREGISTER = f"DELETE FROM {OUTCOME_LISTENERS} WHERE pid = pg_backend_pid()"
"""Run by the listening session before it closes."""


def create_outcome_listeners(conn: Connection) -> None:
    """Create the table (Postgres only): one row per session listening for outcomes,
    named by its server process id and start time (a pid alone may be reused)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"""CREATE TABLE IF NOT EXISTS {OUTCOME_LISTENERS} (
                pid integer NOT NULL,
                backend_start timestamptz NOT NULL,
                PRIMARY KEY (pid, backend_start))"""
        )
