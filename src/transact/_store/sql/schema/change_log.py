"""SQLite's counterpart of ``pg_notify``: a change log written by triggers.

SQLite cannot push anything to another process. Instead, every write that another
process may be waiting on appends the key it would notify on Postgres (the keys of
``protocol.NotifyCallback``) to ``transact_changes``, from a trigger, in the writing
transaction itself: no extra statement, round trip or commit, and a rolled-back write
logs nothing. Each subscribed process has one watcher thread
(``dialects/change_watcher.py``) that asks SQLite's ``PRAGMA data_version`` (a read of
shared memory, no I/O) whether any other connection committed since it last looked, and
only then reads the rows after the last one it saw.

The triggers log what Postgres notifies (``verbs/notify.py`` and migration 4's
triggers): a message sent, an event set, a stream written, a workflow's status changed
(``status:<id>``: finished, cancelled, resumed; not claimed), and a row becoming ENQUEUED by
an update or on the internal queue (``queue:<name>``). Inserts on user queues, which
Postgres has the enqueuer announce (``Store.publish``), are not logged: SQLite's runners
find them at their poll (the queue's ``polling_interval_sec``). Measured with
``make bench``, waking every runner of three worker processes at each announcement cost
a fifth of the queue's throughput, as woken runners made more and smaller claims, each
a write that SQLite serializes.

``seq`` only grows: rows are pruned from the oldest, and the newest row is never pruned,
so SQLite never hands out a ``seq`` again (it picks the largest one plus one).
"""

from __future__ import annotations

from sqlalchemy import Connection

from transact._store.sql.schema.tables import INTERNAL_QUEUE_NAME, NULL_TOPIC

__all__ = [
    "LATEST",
    "PRUNE",
    "READ_AFTER",
    "SQLITE_CHANGE_LOG",
    "create_change_log",
]


def _trigger(name: str, event: str, key: str, when: str = "") -> str:
    """A trigger logging the key ``key`` (an SQL expression over ``NEW``) on ``event``."""
    condition = f"FOR EACH ROW WHEN {when} " if when else ""
    return (
        f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} {condition}"
        f"BEGIN INSERT INTO transact_changes (key) VALUES ({key}); END"
    )


SQLITE_CHANGE_LOG: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS transact_changes (seq INTEGER PRIMARY KEY, key TEXT NOT NULL)",
    _trigger(
        "changes_message",
        "INSERT ON notifications",
        "'message:' || NEW.destination_uuid || '::' "
        f"|| CASE NEW.topic WHEN '{NULL_TOPIC}' THEN '' ELSE NEW.topic END",
    ),
    # An event is inserted the first time it is set, and updated after.
    _trigger(
        "changes_event_set",
        "INSERT ON workflow_events",
        "'event:' || NEW.workflow_uuid || '::' || NEW.key",
    ),
    _trigger(
        "changes_event_reset",
        "UPDATE ON workflow_events",
        "'event:' || NEW.workflow_uuid || '::' || NEW.key",
    ),
    _trigger(
        "changes_stream", "INSERT ON streams", "'stream:' || NEW.workflow_uuid || '::' || NEW.key"
    ),
    _trigger(
        "changes_status",
        "UPDATE OF status ON workflow_status",
        "'status:' || NEW.workflow_uuid",
        # Not a claim (to PENDING): nobody waits for a start, and the claiming process
        # would read the row back for each one it hears of.
        when="NEW.status IS NOT OLD.status AND NEW.status <> 'PENDING'",
    ),
    _trigger(
        "changes_enqueued",
        "UPDATE OF status ON workflow_status",
        "'queue:' || NEW.queue_name",
        when="NEW.status = 'ENQUEUED' AND NEW.queue_name IS NOT NULL",
    ),
    _trigger(
        "changes_enqueued_internal",
        "INSERT ON workflow_status",
        "'queue:' || NEW.queue_name",
        when=f"NEW.status = 'ENQUEUED' AND NEW.queue_name = '{INTERNAL_QUEUE_NAME}'",
    ),
)
"""The table and its triggers, one statement each."""

LATEST = "SELECT coalesce(max(seq), 0) FROM transact_changes"
"""Where a watcher starts: what was logged before it subscribed is not its concern."""

READ_AFTER = "SELECT seq, key FROM transact_changes WHERE seq > ? ORDER BY seq"
"""The keys logged since a watcher last read, in commit order."""

PRUNE = (
    "DELETE FROM transact_changes WHERE seq < ? AND seq < (SELECT max(seq) FROM transact_changes)"
)
"""Forget rows every watcher has had ample time to read; the newest row stays."""


def create_change_log(conn: Connection) -> None:
    """Create the change log and its triggers (SQLite only; Postgres has ``pg_notify``)."""
    if conn.dialect.name == "sqlite":
        for statement in SQLITE_CHANGE_LOG:
            conn.exec_driver_sql(statement)
