"""The system database tables, declared once for SQLite and Postgres.

Tables are declared without a schema; the Postgres store maps them into the
``transact`` schema with ``schema_translate_map``, so every statement is built once and
compiled once per dialect. Column names follow DBOS (``workflow_uuid``,
``operation_outputs``, ...) so an operator who knows DBOS can read the database.

These declarations are the *current* schema, with ``workflow_status``'s secondary
indexes in ``status_indexes.py`` (which attaches them to ``metadata``). Migration 1
creates them; a later change to a table must come with a new numbered migration in
``migrations.py`` that alters an existing database the same way.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

__all__ = [
    "CHECKPOINT_PK",
    "DEDUP_INDEX",
    "INTERNAL_QUEUE_NAME",
    "MESSAGE_ID_UNIQUE",
    "NULL_TOPIC",
    "POSTGRES_SCHEMA",
    "STREAM_PK",
    "WORKFLOW_PK",
    "metadata",
    "migrations_table",
    "notifications",
    "operation_outputs",
    "queues",
    "streams",
    "workflow_events",
    "workflow_events_history",
    "workflow_schedules",
    "workflow_status",
]

POSTGRES_SCHEMA = "transact"
"""The Postgres schema holding every table (SQLite has no schemas)."""

INTERNAL_QUEUE_NAME = "_dbos_internal_queue"
"""The runtime's internal queue (``recovery.INTERNAL_QUEUE``, which a store may not import)."""

NULL_TOPIC = "__null__topic__"
"""How a message topic of None is stored: a real value keeps ``topic = :t`` indexable
(``IS NULL`` comparisons would need a second statement shape), as in DBOS."""

# Constraint names: the error translator recognises violations by them (Postgres
# reports the name; SQLite reports the table and columns, see errors.py).
WORKFLOW_PK = "pk_workflow_status"
CHECKPOINT_PK = "pk_operation_outputs"
STREAM_PK = "pk_streams"
DEDUP_INDEX = "uq_workflow_status_dedup_id"
MESSAGE_ID_UNIQUE = "uq_notifications_message_uuid"

metadata = MetaData()

# The id every dependent table points at; ON DELETE CASCADE makes delete_workflows one
# statement (SQLite needs PRAGMA foreign_keys=ON for it, set on every connection). On
# Postgres only messages keep their key: migrations 5, 14 and 15 drop the others.
_WF = "workflow_status.workflow_uuid"

# SQLite only gives an auto-incrementing key to a column declared exactly
# ``INTEGER PRIMARY KEY``; Postgres gets a BIGSERIAL.
_Sequence = BigInteger().with_variant(Integer(), "sqlite")

workflow_status = Table(
    "workflow_status",
    metadata,
    Column("workflow_uuid", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("inputs", Text),
    Column("output", Text),
    Column("error", Text),
    Column("serialization", Text),
    Column("class_name", Text),
    Column("config_name", Text),
    Column("executor_id", Text),
    Column("application_version", Text),
    Column("application_id", Text),
    Column("authenticated_user", Text),
    Column("assumed_role", Text),
    Column("authenticated_roles", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("recovery_attempts", BigInteger, nullable=False, server_default=text("0")),
    Column("queue_name", Text),
    Column("queue_partition_key", Text),
    Column("deduplication_id", Text),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("workflow_timeout_ms", BigInteger),
    Column("workflow_deadline_epoch_ms", BigInteger),
    Column("started_at_epoch_ms", BigInteger),
    Column("completed_at", BigInteger),
    Column("delay_until_epoch_ms", BigInteger),
    Column("parent_workflow_id", Text),
    Column("forked_from", Text),
    Column("was_forked_from", Boolean, nullable=False, server_default=false()),
    Column("attributes", Text),  # a JSON object (text on both databases; migration 7)
    Column("application_name", Text),  # migration 7
    Column("otel_context", Text),
    # Migration 8: dynamic schedules and the debouncer.
    Column("schedule_name", Text),
    Column("is_debounced", Boolean, nullable=False, server_default=false()),
    Column("debounce_deadline_epoch_ms", BigInteger),
    PrimaryKeyConstraint("workflow_uuid", name=WORKFLOW_PK),
)

# A constraint (one deduplication id per queue); the indexes that find rows are in
# ``status_indexes.py``.
_ws = workflow_status.c
Index(
    DEDUP_INDEX,
    _ws.queue_name,
    _ws.deduplication_id,
    unique=True,
    postgresql_where=_ws.deduplication_id.isnot(None),
    sqlite_where=_ws.deduplication_id.isnot(None),
)

operation_outputs = Table(
    "operation_outputs",
    metadata,
    Column("workflow_uuid", Text, nullable=False),
    Column("function_id", Integer, nullable=False),
    Column("function_name", Text, nullable=False, server_default=text("''")),
    Column("output", Text),
    Column("error", Text),
    Column("child_workflow_id", Text),
    Column("started_at_epoch_ms", BigInteger),
    Column("completed_at_epoch_ms", BigInteger),
    Column("args_digest", Text),  # migration 9
    PrimaryKeyConstraint("workflow_uuid", "function_id", name=CHECKPOINT_PK),
    # SQLite only: migration 5 drops it on Postgres, where checking it locked the
    # workflow's row on every step (see ``migrations._unlocked_checkpoints``).
    ForeignKeyConstraint(
        ["workflow_uuid"],
        [_WF],
        name="fk_operation_outputs_workflow",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    sqlite_with_rowid=False,  # stored in its key on SQLite: see clustered.py
)

notifications = Table(
    "notifications",
    metadata,
    # Messages are taken oldest first by this sequence: the millisecond timestamp ties.
    Column("seq", _Sequence, primary_key=True, autoincrement=True),
    Column("message_uuid", Text, nullable=False),
    Column("destination_uuid", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at_epoch_ms", BigInteger, nullable=False),
    Column("consumed", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("message_uuid", name=MESSAGE_ID_UNIQUE),
    ForeignKeyConstraint(
        ["destination_uuid"],
        [_WF],
        name="fk_notifications_destination",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
)
_n = notifications.c
# recv: the oldest unconsumed message of (destination, topic).
Index(
    "idx_notifications_unconsumed",
    _n.destination_uuid,
    _n.topic,
    _n.seq,
    postgresql_where=_n.consumed.is_(false()),
    sqlite_where=_n.consumed.is_(false()),
)
# The cascade from workflow_status looks consumed messages up by destination too.
Index("idx_notifications_destination", _n.destination_uuid)

workflow_events = Table(
    "workflow_events",
    metadata,
    Column("workflow_uuid", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("workflow_uuid", "key", name="pk_workflow_events"),
    # SQLite only: migration 15 drops it on Postgres, where checking it locked the
    # workflow's row on every set_event (see ``migrations._unlocked_events``).
    ForeignKeyConstraint(
        ["workflow_uuid"],
        [_WF],
        name="fk_workflow_events_workflow",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    sqlite_with_rowid=False,  # stored in its key on SQLite: see clustered.py
)

workflow_events_history = Table(
    "workflow_events_history",
    metadata,
    Column("workflow_uuid", Text, nullable=False),
    Column("function_id", Integer, nullable=False),
    Column("key", Text, nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("workflow_uuid", "key", "function_id", name="pk_workflow_events_history"),
    # SQLite only: migration 15 drops it on Postgres, where checking it locked the
    # workflow's row on every set_event (see ``migrations._unlocked_events``).
    ForeignKeyConstraint(
        ["workflow_uuid"],
        [_WF],
        name="fk_workflow_events_history_workflow",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    sqlite_with_rowid=False,  # stored in its key on SQLite: see clustered.py
)

streams = Table(
    "streams",
    metadata,
    Column("workflow_uuid", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("offset", Integer, nullable=False),
    Column("value", Text, nullable=False),
    Column("function_id", Integer, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("workflow_uuid", "key", "offset", name=STREAM_PK),
    # SQLite only: migration 14 drops it on Postgres, where checking it locked the
    # workflow's row on every stream write (see ``migrations._unlocked_streams``).
    ForeignKeyConstraint(
        ["workflow_uuid"],
        [_WF],
        name="fk_streams_workflow",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    sqlite_with_rowid=False,  # stored in its key on SQLite: see clustered.py
)

# Migration 8: queues kept in the database (``DBOS.register_queue``) and schedules
# created at run time (``DBOS.create_schedule``), with DBOS's column names.
queues = Table(
    "queues",
    metadata,
    Column("name", Text, nullable=False),
    Column("concurrency", Integer),
    Column("worker_concurrency", Integer),
    Column("rate_limit_max", Integer),
    Column("rate_limit_period_sec", Float),
    Column("priority_enabled", Boolean, nullable=False, server_default=false()),
    Column("partition_queue", Boolean, nullable=False, server_default=false()),
    Column("polling_interval_sec", Float, nullable=False, server_default=text("1.0")),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("partition_concurrency", Integer),
    Column("partition_worker_concurrency", Integer),
    Column("partition_rate_limit_max", Integer),
    Column("partition_rate_limit_period_sec", Float),
    PrimaryKeyConstraint("name", name="pk_queues"),
)

workflow_schedules = Table(
    "workflow_schedules",
    metadata,
    Column("schedule_id", Text, nullable=False),
    Column("schedule_name", Text, nullable=False),
    Column("workflow_name", Text, nullable=False),
    Column("schedule", Text, nullable=False),
    Column("context", Text, nullable=False),
    Column("workflow_class_name", Text),
    Column("status", Text, nullable=False, server_default=text("'ACTIVE'")),
    Column("last_fired_at", Text),
    Column("automatic_backfill", Boolean, nullable=False, server_default=false()),
    Column("cron_timezone", Text),
    Column("queue_name", Text),
    PrimaryKeyConstraint("schedule_id", name="pk_workflow_schedules"),
    UniqueConstraint("schedule_name", name="uq_workflow_schedules_name"),
)

migrations_table = Table(
    "transact_migrations",
    MetaData(),  # not in ``metadata``: migration 1 must not create it, the runner does
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at_epoch_ms", BigInteger, nullable=False),
)
