"""``DBOSClient``: DBOS's external client. It reads and acts on an application's
workflows through the system database alone: it needs none of the application's code,
never migrates the database and never runs a workflow (what it enqueues, resumes or
forks waits for the application's executors)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from transact._client import admin, events_and_streams, rename, sending, transactional
from transact._client.connection import ClientBase, Connection, connect
from transact._client.handles import (
    WorkflowHandleClientAsyncPolling,
    WorkflowHandleClientPolling,
    read_status,
)
from transact._client.twins import twin
from transact._facade import remote
from transact._facade.arguments import check_workflow_id
from transact._facade.config import DEFAULT_SQLITE_POLL_SECONDS
from transact._facade.listing import workflow_query
from transact._facade.loop_guard import warn_if_on_loop
from transact._runtime import management
from transact._runtime.status import StepInfo, WorkflowStatus, to_status, to_step_info
from transact._serialization import DefaultSerializer, Serializer
from transact.errors import DBOSException

_DEFAULT_POOL_SIZE = 5  # DBOS's default for a client


class DBOSClient(ClientBase):
    """Operate on a DBOS application's workflows from any process: enqueue, send, read
    events, results and streams, list, cancel, resume, fork and delete.

    ``system_database_url`` (or a SQLAlchemy ``system_database_engine``) names the
    application's system database; the deprecated ``database_url`` and
    ``application_database_url`` are used as that URL when it is not given. The
    connection is checked at construction unless ``lazy``. Every blocking method has an
    ``_async`` twin.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        system_database_url: str | None = None,
        system_database_engine: Any = None,
        application_database_url: str | None = None,
        dbos_system_schema: str = "dbos",
        serializer: Serializer | None = None,
        system_database_pool_size: int | None = None,
        system_database_polling_concurrency: int | None = None,
        use_listen_notify: bool = False,
        application_name: str | None = None,
        lazy: bool = False,
        retry_connection_errors: bool = True,
    ) -> None:
        if lazy and use_listen_notify:
            raise DBOSException(
                "A DBOSClient cannot be both lazy and use_listen_notify: the notification "
                "listener connects immediately."
            )
        url = system_database_url or _engine_url(system_database_engine)
        url = url or database_url or application_database_url
        if url is None:
            raise DBOSException(
                "A DBOSClient requires a system_database_url or a system_database_engine."
            )
        self.application_name = application_name
        self._connection: Connection = connect(
            url,
            serializer=serializer or DefaultSerializer(),
            pool_size=system_database_pool_size or _DEFAULT_POOL_SIZE,
            poll_seconds=DEFAULT_SQLITE_POLL_SECONDS,
        )
        if not lazy:
            self.check_connection()
            self._connection.listen()

    # --- the connection ---------------------------------------------------------------

    def check_connection(self) -> None:
        """Read from the system database once; raise if it cannot be reached."""
        warn_if_on_loop("DBOSClient.check_connection", "DBOSClient.check_connection_async")
        self._connection.store.get_workflow("", load_input=False, load_output=False)

    check_connection_async = twin(check_connection)

    def destroy(self) -> None:
        """Close the client's connections (and its notification listener)."""
        self._connection.close()

    # --- workflows --------------------------------------------------------------------

    def retrieve_workflow(self, workflow_id: str) -> WorkflowHandleClientPolling[Any]:
        """A handle on ``workflow_id``; ``DBOSNonExistentWorkflowError`` if there is none."""
        read_status(self._connection, check_workflow_id(workflow_id))
        return WorkflowHandleClientPolling(workflow_id, self._connection)

    async def retrieve_workflow_async(
        self, workflow_id: str
    ) -> WorkflowHandleClientAsyncPolling[Any]:
        """``retrieve_workflow`` without blocking the loop."""
        handle = await asyncio.to_thread(self.retrieve_workflow, workflow_id)
        return WorkflowHandleClientAsyncPolling(handle.workflow_id, self._connection)

    def get_workflow_status(self, workflow_id: str) -> WorkflowStatus | None:
        """The workflow's status, or None if there is no such workflow."""
        row = self._connection.store.get_workflow(check_workflow_id(workflow_id))
        return None if row is None else to_status(row, self._connection.env.serializer)

    get_workflow_status_async = twin(get_workflow_status)

    def wait_first(
        self,
        handles: Sequence[WorkflowHandleClientPolling[Any]],
        *,
        polling_interval_sec: float = 1.0,
    ) -> WorkflowHandleClientPolling[Any]:
        """Wait until one of ``handles`` has finished; return that handle."""
        ids = [h.workflow_id for h in handles]
        if not ids:
            raise ValueError("wait_first needs at least one handle")
        self._connection.listen()
        poll = min(polling_interval_sec, self._connection.env.poll_seconds)
        return handles[ids.index(self._connection.awaiting.wait_any(ids, poll))]

    async def wait_first_async(
        self,
        handles: Sequence[WorkflowHandleClientAsyncPolling[Any]],
        *,
        polling_interval_sec: float = 1.0,
    ) -> WorkflowHandleClientAsyncPolling[Any]:
        """``wait_first`` without blocking the loop."""
        polling = [
            WorkflowHandleClientPolling[Any](h.workflow_id, self._connection) for h in handles
        ]
        first = await asyncio.to_thread(
            lambda: self.wait_first(polling, polling_interval_sec=polling_interval_sec)
        )
        return handles[polling.index(first)]

    def list_workflows(self, **filters: Any) -> list[WorkflowStatus]:
        """Workflows matching every filter, with ``DBOS.list_workflows``'s filters."""
        return self._list(workflow_query(**filters))

    list_workflows_async = twin(list_workflows)

    def list_queued_workflows(self, **filters: Any) -> list[WorkflowStatus]:
        """Workflows waiting on or running from a queue, with
        ``DBOS.list_queued_workflows``'s filters."""
        filters.setdefault("load_output", False)
        return self._list(workflow_query(queues_only=True, **filters))

    list_queued_workflows_async = twin(list_queued_workflows)

    def list_workflow_steps(self, workflow_id: str, *, load_output: bool = True) -> list[StepInfo]:
        """Every recorded operation of ``workflow_id``, by function id."""
        serializer = self._connection.env.serializer
        return [
            to_step_info(c, serializer, load_output=load_output)
            for c in self._connection.store.load_checkpoints(check_workflow_id(workflow_id))
        ]

    list_workflow_steps_async = twin(list_workflow_steps)

    def cancel_workflow(self, workflow_id: str) -> None:
        """Cancel the workflow; its executor stops it at its next operation."""
        remote.cancel(self._connection.remote, check_workflow_id(workflow_id))

    cancel_workflow_async = twin(cancel_workflow)

    def resume_workflow(self, workflow_id: str) -> WorkflowHandleClientPolling[Any]:
        """Put a cancelled or failed workflow back in line for an executor of its
        version; return its handle."""
        remote.resume(self._connection.remote, check_workflow_id(workflow_id))
        return WorkflowHandleClientPolling(workflow_id, self._connection)

    async def resume_workflow_async(
        self, workflow_id: str
    ) -> WorkflowHandleClientAsyncPolling[Any]:
        """``resume_workflow`` without blocking the loop."""
        await asyncio.to_thread(self.resume_workflow, workflow_id)
        return WorkflowHandleClientAsyncPolling(workflow_id, self._connection)

    def delete_workflow(self, workflow_id: str, delete_children: bool = False) -> None:
        """Delete the workflow's rows (and its descendants' with ``delete_children``)."""
        management.delete(
            self._connection.remote,
            check_workflow_id(workflow_id),
            delete_children=delete_children,
        )

    delete_workflow_async = twin(delete_workflow)

    def fork_workflow(
        self,
        workflow_id: str,
        start_step: int,
        *,
        application_version: str | None = None,
        forked_workflow_id: str | None = None,
    ) -> WorkflowHandleClientPolling[Any]:
        """Fork ``workflow_id`` from ``start_step`` for an executor of
        ``application_version`` (default: the original's); return the fork's handle."""
        fork_id = remote.fork(
            self._connection.remote,
            check_workflow_id(workflow_id),
            start_step,
            new_id=forked_workflow_id,
            application_version=application_version,
        )
        return WorkflowHandleClientPolling(fork_id, self._connection)

    async def fork_workflow_async(
        self,
        workflow_id: str,
        start_step: int,
        *,
        application_version: str | None = None,
        forked_workflow_id: str | None = None,
    ) -> WorkflowHandleClientAsyncPolling[Any]:
        """``fork_workflow`` without blocking the loop."""
        handle = await asyncio.to_thread(
            lambda: self.fork_workflow(
                workflow_id,
                start_step,
                application_version=application_version,
                forked_workflow_id=forked_workflow_id,
            )
        )
        return WorkflowHandleClientAsyncPolling(handle.workflow_id, self._connection)

    # --- enqueueing, bulk management, versions and schedules (``admin.py``) ---------
    enqueue = admin.enqueue
    enqueue_async = admin.enqueue_async
    cancel_workflows = admin.cancel_workflows
    cancel_workflows_async = admin.cancel_workflows_async
    resume_workflows = admin.resume_workflows
    resume_workflows_async = admin.resume_workflows_async
    delete_workflows = admin.delete_workflows
    delete_workflows_async = admin.delete_workflows_async
    set_workflow_delay = admin.set_workflow_delay
    set_workflow_delay_async = admin.set_workflow_delay_async
    update_workflow_attributes = admin.update_workflow_attributes
    update_workflow_attributes_async = admin.update_workflow_attributes_async
    rewind_workflow = admin.rewind_workflow
    rewind_workflow_async = admin.rewind_workflow_async
    list_application_versions = admin.list_application_versions
    list_application_versions_async = admin.list_application_versions_async
    get_latest_application_version = admin.get_latest_application_version
    get_latest_application_version_async = admin.get_latest_application_version_async
    set_latest_application_version = admin.set_latest_application_version
    set_latest_application_version_async = admin.set_latest_application_version_async
    rename_application = rename.rename_application
    rename_application_async = rename.rename_application_async
    list_schedules = admin.list_schedules
    list_schedules_async = admin.list_schedules_async
    get_schedule = admin.get_schedule
    get_schedule_async = admin.get_schedule_async
    pause_schedule = admin.pause_schedule
    pause_schedule_async = admin.pause_schedule_async
    resume_schedule = admin.resume_schedule
    resume_schedule_async = admin.resume_schedule_async
    delete_schedule = admin.delete_schedule
    delete_schedule_async = admin.delete_schedule_async
    create_schedule = admin.create_schedule
    create_schedule_async = admin.create_schedule_async
    apply_schedules = admin.apply_schedules
    apply_schedules_async = admin.apply_schedules_async
    backfill_schedule = admin.backfill_schedule
    backfill_schedule_async = admin.backfill_schedule_async
    trigger_schedule = admin.trigger_schedule
    trigger_schedule_async = admin.trigger_schedule_async
    register_queue = admin.register_queue
    register_queue_async = admin.register_queue_async
    retrieve_queue = admin.retrieve_queue
    retrieve_queue_async = admin.retrieve_queue_async
    delete_queue = admin.delete_queue
    delete_queue_async = admin.delete_queue_async
    list_queues = admin.list_queues
    list_queues_async = admin.list_queues_async

    # --- messages, events, streams ----------------------------------------------------

    # --- messages: sent now, or on the caller's transaction (``sending.py``) ----------
    send = sending.send
    send_async = sending.send_async
    send_bulk = sending.send_bulk
    send_bulk_async = sending.send_bulk_async
    send_in_transaction = sending.send_in_transaction
    send_in_transaction_async = sending.send_in_transaction_async
    send_bulk_in_transaction = sending.send_bulk_in_transaction
    send_bulk_in_transaction_async = sending.send_bulk_in_transaction_async

    # --- enqueueing on the caller's transaction (``transactional.py``) ----------------
    enqueue_in_transaction = transactional.enqueue_in_transaction
    enqueue_in_transaction_async = transactional.enqueue_in_transaction_async

    # --- events and streams (``events_and_streams.py``) -------------------------------
    get_event = events_and_streams.get_event
    get_event_async = events_and_streams.get_event_async
    get_all_events = events_and_streams.get_all_events
    get_all_events_async = events_and_streams.get_all_events_async
    read_stream = events_and_streams.read_stream
    read_stream_async = events_and_streams.read_stream_async
    read_stream_offset = events_and_streams.read_stream_offset
    read_stream_offset_async = events_and_streams.read_stream_offset_async

    # --- helpers ----------------------------------------------------------------------

    def _list(self, query: Any) -> list[WorkflowStatus]:
        serializer = self._connection.env.serializer
        return [to_status(r, serializer) for r in self._connection.store.list_workflows(query)]


def _engine_url(engine: Any) -> str | None:
    """The URL of a SQLAlchemy engine, password included (the store opens its own)."""
    if engine is None:
        return None
    rendered: str = engine.url.render_as_string(hide_password=False)
    return rendered
