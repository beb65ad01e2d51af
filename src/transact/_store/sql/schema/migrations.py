"""Numbered schema migrations, recorded one row per version in ``transact_migrations``.

:func:`apply_pending` runs inside a transaction that already holds the database's
migration lock (SQLite: ``BEGIN IMMEDIATE``; Postgres: ``pg_advisory_xact_lock``), reads
the applied versions under that lock and applies the missing ones, so two processes
migrating at once apply each migration exactly once, and running it again is a no-op.
Both databases have transactional DDL: a failed migration leaves no half-made schema.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs
from sqlalchemy import Connection, insert, inspect, select

from transact._store.sql.schema.change_log import create_change_log
from transact._store.sql.schema.clustered import cluster_by_key
from transact._store.sql.schema.outcome_listeners import create_outcome_listeners
from transact._store.sql.schema.status_indexes import (
    CLAIM_INDEXES,
    LISTING_INDEXES,
    NARROWED_QUEUE_INDEXES,
    QUEUE_INDEXES,
    RETIRED_QUEUE_INDEXES,
    SCHEDULE_NAME_INDEX,
)
from transact._store.sql.schema.stream_appends import create_stream_appends
from transact._store.sql.schema.tables import (
    INTERNAL_QUEUE_NAME,
    POSTGRES_SCHEMA,
    metadata,
    migrations_table,
    queues,
    workflow_schedules,
    workflow_status,
)
from transact._store.sql.schema.unlocked_keys import (
    unlocked_checkpoints,
    unlocked_events,
    unlocked_streams,
)
from transact._store.sql.schema.versions import VERSION_INDEXES, application_versions
from transact._store.sql.verbs.notify import CHANNEL, QUEUE_CHANNEL

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "Migration",
    "applied_versions",
    "apply_pending",
]


@attrs.frozen
class Migration:
    """One schema change; ``apply`` runs in the migrating transaction."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _initial_schema(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=False)


# Postgres: a row that becomes ENQUEUED wakes the queue's runners in every process
# (payload "queue:<name>", see protocol.NotifyCallback). A trigger rather than a clause
# of the enqueueing statements, so every way of enqueueing (enqueue, resume, fork, a
# delay released) notifies, at no extra round trip. Postgres drops a payload of 8000
# bytes or more, and sends one notification per distinct payload per transaction.
def _notify_enqueued(channel: str) -> str:
    """The trigger function announcing a row's queue on ``channel``."""
    return f"""
CREATE OR REPLACE FUNCTION {POSTGRES_SCHEMA}.notify_enqueued() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF octet_length(NEW.queue_name) < 7990 THEN
        PERFORM pg_notify('{channel}', 'queue:' || NEW.queue_name);
    END IF;
    RETURN NULL;
END
$$;
"""


_QUEUE_TRIGGER = (
    _notify_enqueued(CHANNEL)
    + f"""
DROP TRIGGER IF EXISTS workflow_status_enqueued ON {POSTGRES_SCHEMA}.workflow_status;
CREATE TRIGGER workflow_status_enqueued
    AFTER INSERT OR UPDATE OF status ON {POSTGRES_SCHEMA}.workflow_status
    FOR EACH ROW WHEN (NEW.status = 'ENQUEUED' AND NEW.queue_name IS NOT NULL)
    EXECUTE FUNCTION {POSTGRES_SCHEMA}.notify_enqueued();
"""
)


def _queues(conn: Connection) -> None:
    # A database created at version 1 by this build already has the indexes (they are
    # in ``metadata``); an older one gets them now.
    for index in QUEUE_INDEXES:
        index.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_QUEUE_TRIGGER)


def _claim_indexes(conn: Connection) -> None:
    # Claims read a queue's first waiting rows in dequeue order from an index rather than
    # sorting its whole backlog; global limits count PENDING rows in an index of their own.
    schema = f"{POSTGRES_SCHEMA}." if conn.dialect.name == "postgresql" else ""
    for name in RETIRED_QUEUE_INDEXES:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {schema}{name}")
    for index in CLAIM_INDEXES:
        index.create(conn, checkfirst=True)


# Migration 4: the enqueueing process announces its own inserts on user queues, at most
# once per few milliseconds per queue (``announcer.QueueAnnouncer``), instead of one
# notification per row: each notification wakes every listening process, which cost
# more than the enqueue itself with three workers. The trigger still covers rows that
# become ENQUEUED by an UPDATE (a delay released, a resume) and inserts on the internal
# queue (forks, which other executors may have to run), which are rare.
_QUEUE_TRIGGER_UPDATES_ONLY = f"""
DROP TRIGGER IF EXISTS workflow_status_enqueued ON {POSTGRES_SCHEMA}.workflow_status;
CREATE TRIGGER workflow_status_enqueued
    AFTER UPDATE OF status ON {POSTGRES_SCHEMA}.workflow_status
    FOR EACH ROW WHEN (NEW.status = 'ENQUEUED' AND NEW.queue_name IS NOT NULL)
    EXECUTE FUNCTION {POSTGRES_SCHEMA}.notify_enqueued();
DROP TRIGGER IF EXISTS workflow_status_enqueued_internal
    ON {POSTGRES_SCHEMA}.workflow_status;
CREATE TRIGGER workflow_status_enqueued_internal
    AFTER INSERT ON {POSTGRES_SCHEMA}.workflow_status
    FOR EACH ROW WHEN (NEW.status = 'ENQUEUED' AND NEW.queue_name = '{INTERNAL_QUEUE_NAME}')
    EXECUTE FUNCTION {POSTGRES_SCHEMA}.notify_enqueued();
"""


def _announced_enqueues(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_QUEUE_TRIGGER_UPDATES_ONLY)


def _queue_channel(conn: Connection) -> None:
    # Migration 17: enqueues are announced on a channel of their own, which only
    # processes serving queues listen to (``Store.serve_queue``).
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_notify_enqueued(QUEUE_CHANNEL))


def _narrow_queue_indexes(conn: Connection) -> None:
    # Entries only for the rows each index serves: a directly started workflow no longer
    # enters the queues' PENDING index, nor an enqueue the rate-limit index before it is
    # claimed (one index entry less per workflow start, and per enqueue).
    schema = f"{POSTGRES_SCHEMA}." if conn.dialect.name == "postgresql" else ""
    for index in NARROWED_QUEUE_INDEXES:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {schema}{index.name}")
        index.create(conn)


def _attributes_and_versions(conn: Connection) -> None:
    # A database made by this build at version 1 has these already (``metadata``).
    schema = f"{POSTGRES_SCHEMA}." if conn.dialect.name == "postgresql" else ""
    have = {
        c["name"] for c in inspect(conn).get_columns("workflow_status", schema=schema[:-1] or None)
    }
    for column in ("attributes", "application_name"):
        if column not in have:
            conn.exec_driver_sql(f"ALTER TABLE {schema}workflow_status ADD COLUMN {column} TEXT")
    application_versions.create(conn, checkfirst=True)
    for index in VERSION_INDEXES:
        index.create(conn, checkfirst=True)


def _otel_context(conn: Connection) -> None:
    # A database created by this build has the column already (``metadata``).
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"ALTER TABLE {POSTGRES_SCHEMA}.workflow_status "
            "ADD COLUMN IF NOT EXISTS otel_context TEXT"
        )
        return
    columns = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(workflow_status)")}
    if "otel_context" not in columns:
        conn.exec_driver_sql("ALTER TABLE workflow_status ADD COLUMN otel_context TEXT")


def _queues_and_schedules(conn: Connection) -> None:
    # Idempotent: a database created at this version already has all of it (migration 1
    # creates the current tables).
    queues.create(conn, checkfirst=True)
    workflow_schedules.create(conn, checkfirst=True)
    postgres = conn.dialect.name == "postgresql"
    schema = f"{POSTGRES_SCHEMA}." if postgres else ""
    present = {
        c["name"]
        for c in inspect(conn).get_columns(
            "workflow_status", schema=POSTGRES_SCHEMA if postgres else None
        )
    }
    for name in ("schedule_name", "is_debounced", "debounce_deadline_epoch_ms"):
        if name in present:
            continue
        column = workflow_status.c[name]
        ddl = f"{column.type.compile(conn.dialect)}"
        if name == "is_debounced":
            ddl += " NOT NULL DEFAULT FALSE" if postgres else " NOT NULL DEFAULT 0"
        conn.exec_driver_sql(f"ALTER TABLE {schema}workflow_status ADD COLUMN {name} {ddl}")
    SCHEDULE_NAME_INDEX.create(conn, checkfirst=True)


def _args_digests(conn: Connection) -> None:
    """``operation_outputs.args_digest``: a digest of each operation's arguments, written
    with its checkpoint. Idempotent: a database created at this version has it already."""
    if any(
        c["name"] == "args_digest"
        for c in inspect(conn).get_columns(
            "operation_outputs",
            schema=POSTGRES_SCHEMA if conn.dialect.name == "postgresql" else None,
        )
    ):
        return
    schema = f"{POSTGRES_SCHEMA}." if conn.dialect.name == "postgresql" else ""
    conn.exec_driver_sql(f"ALTER TABLE {schema}operation_outputs ADD COLUMN args_digest TEXT")


def _listing_indexes(conn: Connection) -> None:
    # A database made by this build at version 1 has them already (``metadata``).
    for index in LISTING_INDEXES:
        index.create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "workflow_status, operation_outputs, notifications, workflow_events, "
        "workflow_events_history, streams",
        _initial_schema,
    ),
    Migration(
        2,
        "queues: rate-window, delayed and partition indexes; Postgres enqueue notifications",
        _queues,
    ),
    Migration(
        3, "queues: waiting rows indexed in dequeue order, PENDING rows per queue", _claim_indexes
    ),
    Migration(
        4,
        "queues: inserts on user queues are announced by the enqueuer, not by a trigger",
        _announced_enqueues,
    ),
    Migration(
        5,
        "Postgres: checkpoints without a foreign key to their workflow (no row lock per step)",
        unlocked_checkpoints,
    ),
    Migration(
        6,
        "queues: the PENDING and start-time indexes hold only the rows they serve",
        _narrow_queue_indexes,
    ),
    Migration(
        7,
        "workflow attributes and application name; application_versions",
        _attributes_and_versions,
    ),
    Migration(
        8,
        "queues and workflow_schedules tables; schedule_name and debouncer columns",
        _queues_and_schedules,
    ),
    Migration(
        9,
        "operation_outputs.args_digest: replay compares each operation's arguments too",
        _args_digests,
    ),
    Migration(
        10,
        "workflow_status.otel_context: the trace context a workflow's spans continue",
        _otel_context,
    ),
    Migration(11, "list_workflows: indexes by status, name and queue", _listing_indexes),
    Migration(
        12,
        "SQLite: transact_changes, the change log its triggers write (cross-process wake-ups)",
        create_change_log,
    ),
    Migration(
        13,
        "SQLite: checkpoints, streams and events stored in their primary key (WITHOUT ROWID)",
        cluster_by_key,
    ),
    Migration(
        14,
        "Postgres: stream values without a foreign key to their workflow (no row lock per write)",
        unlocked_streams,
    ),
    Migration(
        15,
        "Postgres: events and their history without a foreign key to their workflow "
        "(no row lock per set_event)",
        unlocked_events,
    ),
    Migration(
        16,
        "SQLite: transact_stream_appends, a workflow's stream write as one statement",
        create_stream_appends,
    ),
    Migration(
        17,
        "Postgres: enqueues announced on transact_queues, heard only by queue workers",
        _queue_channel,
    ),
    Migration(
        18,
        "Postgres: outcome_listeners; outcomes are notified only while someone listens",
        create_outcome_listeners,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def applied_versions(conn: Connection) -> set[int]:
    """The versions recorded in ``transact_migrations`` (the table must exist)."""
    return set(conn.execute(select(migrations_table.c.version)).scalars())


def apply_pending(conn: Connection) -> list[int]:
    """Create the version table if needed and apply every missing migration, in order.

    Call with the migration lock held. Returns the versions applied now.
    """
    migrations_table.create(conn, checkfirst=True)
    done = applied_versions(conn)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        migration.apply(conn)
        conn.execute(
            insert(migrations_table).values(
                version=migration.version,
                description=migration.description,
                # Bookkeeping for operators only; store data never reads the clock.
                applied_at_epoch_ms=int(time.time() * 1000),
            )
        )
        applied.append(migration.version)
    return applied
