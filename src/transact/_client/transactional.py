"""``DBOSClient.enqueue_in_transaction`` (and its ``_async`` twin): enqueue on the
caller's own transaction.

The caller passes a SQLAlchemy ``Connection`` or ``Session`` (an ``AsyncConnection`` or
``AsyncSession`` to the twin) open on the system database, inside a transaction it
commits itself: the enqueued workflow exists exactly when the caller's own rows do.
Nothing is committed here, so the handle is usable only after the commit. (The
messages' counterparts are in ``sending.py``.)
"""

from __future__ import annotations

from typing import Any

from transact._client.connection import ClientBase
from transact._client.handles import WorkflowHandleClientAsyncPolling, WorkflowHandleClientPolling
from transact._client.operations import enqueued_row
from transact._client.twins import on_sync_face
from transact._facade.api_enqueue import EnqueueOptions
from transact._runtime import rows
from transact._store.sql.verbs import caller_transaction
from transact.errors import DBOSException


def enqueue_in_transaction(
    self: ClientBase, conn_or_session: Any, options: EnqueueOptions, *args: Any, **kwargs: Any
) -> WorkflowHandleClientPolling[Any]:
    """Enqueue workflow ``options["workflow_name"]`` as ``enqueue`` does, but on the
    caller's transaction (a SQLAlchemy ``Connection`` or ``Session`` on the system
    database): the workflow exists, and an executor may start it, once that transaction
    commits, and not at all if it rolls back. The handle is usable after the commit.

    The ``"return-existing"`` duplication policy is refused (the holder may be in the
    same uncommitted transaction). A taken deduplication id raises
    ``DBOSQueueDeduplicatedError`` and leaves the caller's transaction usable.
    """
    connection = self._connection
    record, _, start = enqueued_row(
        connection, options, args, kwargs, application_name=self.application_name
    )
    if options.get("duplication_policy") == "return-existing":
        raise DBOSException(
            "duplication_policy 'return-existing' is not supported by "
            "enqueue_in_transaction. Use enqueue instead."
        )
    conn = caller_transaction.caller_connection(conn_or_session)
    stored, created = caller_transaction.insert_workflow(
        conn, record, fresh_id=not options.get("workflow_id")
    )
    if not created:
        rows.check_attach(stored, record)
    rows.check_reuse(stored, created, start.reuse_policy)
    return WorkflowHandleClientPolling(record.workflow_id, connection)


async def enqueue_in_transaction_async(
    self: ClientBase, conn_or_session: Any, options: EnqueueOptions, *args: Any, **kwargs: Any
) -> WorkflowHandleClientAsyncPolling[Any]:
    """``enqueue_in_transaction`` on an ``AsyncConnection`` or ``AsyncSession`` (or a
    synchronous one, used from a worker thread)."""
    handle = await on_sync_face(
        conn_or_session,
        lambda conn: enqueue_in_transaction(self, conn, options, *args, **kwargs),
    )
    return WorkflowHandleClientAsyncPolling(handle.workflow_id, self._connection)
