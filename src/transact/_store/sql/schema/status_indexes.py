"""The secondary indexes of ``workflow_status``: how recovery, queue runners, listings and
schedules find their rows without walking the table.

Declaring an index on ``workflow_status``'s columns attaches it to ``tables.metadata``, so
importing this module is what puts these indexes in the current schema: ``migrations.py``
imports it (later migrations create its index groups on older databases by name) before
migration 1's ``metadata.create_all`` can run, and nothing else creates the schema.
``tables.py`` cannot import it back (this module imports the table).

The table's unique deduplication index stays in ``tables.py``, with the constraint names
the error translator recognises.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Index, literal_column

from transact._store.sql.schema.tables import workflow_status

__all__ = [
    "CLAIM_INDEXES",
    "LISTING_INDEXES",
    "NARROWED_QUEUE_INDEXES",
    "QUEUE_INDEXES",
    "QUEUE_WAITING",
    "RETIRED_QUEUE_INDEXES",
    "SCHEDULE_NAME_INDEX",
]

_ws = workflow_status.c


def _partial(name: str, *columns: Any, where: ColumnElement[bool]) -> Index:
    """An index of the rows ``where`` holds, with the same predicate on both databases."""
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)


Index("idx_workflow_status_created_at", _ws.created_at, _ws.workflow_uuid)
# Literal (not bound) statuses: Postgres only uses a partial index when the query's
# predicate visibly implies the index's.
_PENDING = _ws.status == literal_column("'PENDING'")
# Recovery at launch: PENDING rows of one executor, oldest first.
_partial(
    "idx_workflow_status_pending",
    _ws.executor_id,
    _ws.created_at,
    where=_PENDING,
)
# Queue runners (migration 3; a new database gets them at once). Literal predicates, which
# the claim statements repeat word for word: SQLite uses a partial index only when the
# query's WHERE contains the index's own term.
QUEUE_WAITING = _ws.status.in_([literal_column("'ENQUEUED'"), literal_column("'DELAYED'")])
"""The predicate of the waiting-row indexes: rows a claim may start or release."""
_PARTITIONED = _ws.queue_partition_key.isnot(None)
# Implied by ``queue_name = :q`` and ``started_at_epoch_ms > :since`` (strict comparisons),
# which both databases accept as proof that a partial index applies.
_QUEUED = _ws.queue_name.isnot(None)
_STARTED = _ws.started_at_epoch_ms.isnot(None)
CLAIM_INDEXES = (
    # A queue's waiting rows in dequeue order (priority, age, id): a claim reads the first
    # rows of the index instead of sorting the whole backlog.
    _partial(
        "idx_workflow_status_waiting",
        _ws.queue_name,
        _ws.priority,
        _ws.created_at,
        _ws.workflow_uuid,
        where=QUEUE_WAITING,
    ),
    # The same per partition.
    _partial(
        "idx_workflow_status_partition_waiting",
        _ws.queue_name,
        _ws.queue_partition_key,
        _ws.priority,
        _ws.created_at,
        _ws.workflow_uuid,
        where=QUEUE_WAITING & _PARTITIONED,
    ),
    # Global concurrency limits: a queue's (or partition's) PENDING rows, counted. Queued
    # rows only (migration 6): a directly started workflow has no entry to maintain.
    _partial(
        "idx_workflow_status_queue_pending",
        _ws.queue_name,
        _ws.queue_partition_key,
        where=_PENDING & _QUEUED,
    ),
)
RETIRED_QUEUE_INDEXES = (
    "idx_workflow_status_in_flight",
    "idx_workflow_status_partition_in_flight",
)
"""Indexes of migrations 1 and 2 that migration 3 drops (ordered by priority and age
only, so a claim had to sort every waiting row of its queue)."""
# Added by migration 2 (queues); declared here too, so a new database gets them at once.
QUEUE_INDEXES = (
    # Rate limits: a queue's dequeues inside the window, by start time. Started rows only
    # (migration 6): an enqueue has no entry to maintain until it is claimed.
    _partial(
        "idx_workflow_status_queue_started",
        _ws.queue_name,
        _ws.started_at_epoch_ms,
        where=_QUEUED & _STARTED,
    ),
    # Delayed starts: a queue's DELAYED rows by due time.
    _partial(
        "idx_workflow_status_delayed",
        _ws.queue_name,
        _ws.delay_until_epoch_ms,
        where=_ws.status == literal_column("'DELAYED'"),
    ),
)
NARROWED_QUEUE_INDEXES = tuple(
    index
    for index in (*CLAIM_INDEXES, *QUEUE_INDEXES)
    if index.name in ("idx_workflow_status_queue_pending", "idx_workflow_status_queue_started")
)
"""The indexes migration 6 rebuilds with narrower predicates."""
_partial(
    "idx_workflow_status_parent_workflow_id",
    _ws.parent_workflow_id,
    where=_ws.parent_workflow_id.isnot(None),
)
_partial(
    "idx_workflow_status_forked_from",
    _ws.forked_from,
    where=_ws.forked_from.isnot(None),
)
# ``list_workflows`` by status, name or queue (migration 11): a page in creation order is
# read from the index instead of walking every row by creation time and filtering.
LISTING_INDEXES = (
    # The whole listing order (created_at, workflow_uuid): a page needs no sort.
    Index("idx_workflow_status_status", _ws.status, _ws.created_at, _ws.workflow_uuid),
    Index("idx_workflow_status_name", _ws.name, _ws.created_at, _ws.workflow_uuid),
    _partial(
        "idx_workflow_status_queue_name",
        _ws.queue_name,
        _ws.created_at,
        _ws.workflow_uuid,
        where=_QUEUED,
    ),
)
# Migration 8: the workflows a dynamic schedule (``tables.workflow_schedules``) started.
SCHEDULE_NAME_INDEX = _partial(
    "idx_workflow_status_schedule_name",
    _ws.schedule_name,
    where=_ws.schedule_name.isnot(None),
)
