"""Cross-process wake-ups on Postgres: ``pg_notify`` riding on the writes themselves.

A writer that other processes may wait on appends ``pg_notify(channel, :notify_key)`` to
its statement's RETURNING clause. Postgres sends the notification only if the
transaction commits and only for rows the statement actually changed, and it costs no
extra statement or round trip. The keys are those of ``protocol.NotifyCallback``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Label,
    Text,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    select,
)

from transact._store.notifications import QUEUE_KEY_PREFIX
from transact._store.notifications import queue_key as plain_queue_key
from transact._store.sql.schema.outcome_listeners import ANY_LISTENER

__all__ = [
    "CHANNEL",
    "NOTIFY_KEY",
    "OUTCOME_CHANNEL",
    "PUBLISH",
    "QUEUE_CHANNEL",
    "event_key",
    "message_key",
    "notify_columns",
    "outcome_notify_columns",
    "payload",
    "publish_statement",
    "queue_key",
    "status_key",
    "status_notify_column",
    "stream_key",
]

CHANNEL = "transact_notifications"
"""The LISTEN/NOTIFY channel of every subscribed process; the payload says what changed
(outcomes and enqueues have channels of their own, below)."""

OUTCOME_CHANNEL = "transact_outcomes"
"""The channel of workflows' outcomes (SUCCESS or ERROR recorded): only processes that
await results listen to it (``Store.listen_for_outcomes``), so a process that never
waits on another's workflow is not woken by every workflow finishing anywhere (with
three queue workers, that was a quarter of each worker's Python CPU); and while none
listens, finishes do not notify at all (``schema/outcome_listeners.py``)."""

QUEUE_CHANNEL = "transact_queues"
"""The channel of enqueues (``queue:<name>``): only processes that serve queues listen to
it (``Store.serve_queue``), so a client or a web server that only enqueues is not woken
by every enqueue, its own included."""

NOTIFY_KEY = "notify_key"
"""The bind parameter holding the payload of a notifying statement."""

# Postgres rejects a payload of 8000 bytes or more, which would fail the write itself.
_MAX_PAYLOAD_BYTES = 7999

_NOTIFY: Label[Any] = func.pg_notify(
    literal_column(f"'{CHANNEL}'"), bindparam(NOTIFY_KEY, type_=Text)
).label("notified")


PUBLISH = select(_NOTIFY)
"""A notification on its own (``Store.publish``), for wake-ups no write carries."""

_PUBLISH_ENQUEUED = select(
    func.pg_notify(literal_column(f"'{QUEUE_CHANNEL}'"), bindparam(NOTIFY_KEY, type_=Text))
)


def publish_statement(key: str) -> Any:
    """The statement publishing ``key`` on its own: on :data:`QUEUE_CHANNEL` for an
    enqueue (``queue:`` keys), else on :data:`CHANNEL`."""
    return _PUBLISH_ENQUEUED if key.startswith(QUEUE_KEY_PREFIX) else PUBLISH


# Only while some session listens for outcomes (``schema/outcome_listeners.py``): a
# notifying commit is serialized with every other one on the server.
_OUTCOME_NOTIFY: Label[Any] = case(
    (
        literal_column(ANY_LISTENER),
        func.pg_notify(literal_column(f"'{OUTCOME_CHANNEL}'"), bindparam(NOTIFY_KEY, type_=Text)),
    ),
).label("notified")


def notify_columns(notify: bool) -> tuple[Label[Any], ...]:
    """The RETURNING column that sends the notification, if ``notify``; else nothing."""
    return (_NOTIFY,) if notify else ()


def outcome_notify_columns(notify: bool) -> tuple[Label[Any], ...]:
    """:func:`notify_columns` on :data:`OUTCOME_CHANNEL` (a workflow's outcome), sent only
    while some session listens for outcomes (``schema/outcome_listeners.py``)."""
    return (_OUTCOME_NOTIFY,) if notify else ()


def status_notify_column(workflow_id: ColumnElement[str]) -> Label[Any]:
    """A RETURNING column notifying ``status:<id>`` for each row a statement changed (for
    verbs that change many rows); an over-long key is sent empty, as :func:`payload`."""
    key = literal("status:", Text) + workflow_id
    fitting = case((func.octet_length(key) <= _MAX_PAYLOAD_BYTES, key), else_=literal("", Text))
    return func.pg_notify(literal_column(f"'{CHANNEL}'"), fitting).label("notified")


def payload(key: str) -> str:
    """``key`` if Postgres accepts it as a payload, else the empty string (an id that long
    cannot be notified; such waiters fall back to their periodic re-check)."""
    return key if len(key.encode()) <= _MAX_PAYLOAD_BYTES else ""


def status_key(workflow_id: str) -> str:
    """The key of a workflow's status change."""
    return payload(f"status:{workflow_id}")


def queue_key(queue_name: str) -> str:
    """The key of a row enqueued on ``queue_name`` (``notifications.queue_key``), as a
    payload."""
    return payload(plain_queue_key(queue_name))


def message_key(workflow_id: str, topic: str | None) -> str:
    """The key of a message sent to (workflow, topic)."""
    return payload(f"message:{workflow_id}::{topic or ''}")


def event_key(workflow_id: str, key: str) -> str:
    """The key of an event set by a workflow."""
    return payload(f"event:{workflow_id}::{key}")


def stream_key(workflow_id: str, key: str) -> str:
    """The key of a value written to a workflow's stream."""
    return payload(f"stream:{workflow_id}::{key}")
