"""Postgres: how each session of the system database plans, set once per connection.

Every statement the store runs reads rows through an index: a key, a key's range, or a
range of a listing or queue index (``tests/test_query_plans.py`` checks each). A
sequential scan is never the plan it is written for, but the planner picks one whenever
it believes ``workflow_status`` or ``operation_outputs`` small, and then keeps it: psycopg
prepares a statement on its fifth run, and Postgres caches a generic plan made from the
statistics of that moment until the table is analyzed again, which autovacuum does only
after a tenth of it changed. On a new database, where the tables grow from nothing,
three hot statements kept scanning the whole table this way (seen with
``auto_explain``, a queue of one-step workflows, three worker processes): the claim's
update of the rows it picked, the batched outcome update and the batch's log read
(``benchmarks/PROFILE.md`` has the figures).

So the store's sessions run with ``enable_seqscan = off``. It does not forbid a scan: a
query no index can serve still scans (the planner adds a large constant to the scan's
cost, it does not remove the path), so a listing filtered on a column no index covers
still works; it walks an index in its page order instead. Only the store's own pool
is configured; the application's database, and any other engine, are untouched.
"""

from __future__ import annotations

from typing import Any

__all__ = ["APPLICATION_NAME", "configure_session"]

APPLICATION_NAME = "dbos_transact"
"""The ``application_name`` of the store's sessions unless the URL sets one: DBOS's, so a
DBA finds them in ``pg_stat_activity`` under the same name, and monitoring that filters
on it keeps working after a move to transact."""

SESSION_SETTINGS = "SET enable_seqscan = off"


def configure_session(dbapi_connection: Any, _record: Any = None) -> None:
    """The ``connect`` listener of the store's engine: apply :data:`SESSION_SETTINGS`
    to a new psycopg connection, outside any transaction (so it lasts the session)."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute(SESSION_SETTINGS)
    finally:
        dbapi_connection.autocommit = autocommit
