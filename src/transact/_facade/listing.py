"""Workflow listings: the filters as a store query, and the listing itself (performed as
a ``ListWorkflows`` effect in workflow code, read directly elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transact._core.effects import ListWorkflows
from transact._facade.calls import as_tuple, iso_to_ms
from transact._facade.context import attributes_text
from transact._facade.launched import runtime
from transact._facade.routing import perform_or_else, perform_or_else_async
from transact._facade.status import WorkflowStatus, to_status
from transact._store.records import WorkflowQuery


def workflow_query(
    *,
    workflow_ids: Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
    start_time: str | None = None,
    end_time: str | None = None,
    name: str | Sequence[str] | None = None,
    app_version: str | Sequence[str] | None = None,
    user: str | Sequence[str] | None = None,
    queue_name: str | Sequence[str] | None = None,
    executor_id: str | Sequence[str] | None = None,
    parent_workflow_id: str | Sequence[str] | None = None,
    forked_from: str | Sequence[str] | None = None,
    workflow_id_prefix: str | Sequence[str] | None = None,
    completed_after: str | None = None,
    completed_before: str | None = None,
    dequeued_after: str | None = None,
    dequeued_before: str | None = None,
    queues_only: bool = False,
    was_forked_from: bool | None = None,
    has_parent: bool | None = None,
    schedule_name: str | Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
    sort_desc: bool = False,
    load_input: bool = True,
    load_output: bool = True,
    attributes: dict[str, Any] | None = None,
    application_name: str | Sequence[str] | None = None,
) -> WorkflowQuery:
    """The store query for the listing filters; ``ValueError`` names a bad one."""
    for label, value in (("limit", limit), ("offset", offset)):
        if value is not None and value < 0:
            raise ValueError(f"{label} must not be negative, got {value}")
    query = WorkflowQuery(
        workflow_ids=as_tuple(workflow_ids),
        statuses=as_tuple(status),
        names=as_tuple(name),
        application_versions=as_tuple(app_version),
        executor_ids=as_tuple(executor_id),
        queue_names=as_tuple(queue_name),
        parent_workflow_ids=as_tuple(parent_workflow_id),
        forked_from=as_tuple(forked_from),
        users=as_tuple(user),
        workflow_id_prefixes=as_tuple(workflow_id_prefix),
        created_after=iso_to_ms(start_time, "start_time"),
        created_before=iso_to_ms(end_time, "end_time"),
        completed_after=iso_to_ms(completed_after, "completed_after"),
        completed_before=iso_to_ms(completed_before, "completed_before"),
        dequeued_after=iso_to_ms(dequeued_after, "dequeued_after"),
        dequeued_before=iso_to_ms(dequeued_before, "dequeued_before"),
        queues_only=queues_only,
        was_forked_from=was_forked_from,
        has_parent=has_parent,
        schedule_names=as_tuple(schedule_name),
        load_input=load_input,
        load_output=load_output,
        limit=limit,
        offset=offset,
        sort_desc=sort_desc,
        attributes=None if attributes is None else attributes_text(attributes),
        application_names=as_tuple(application_name),
    )
    return query


def query_workflows(query: WorkflowQuery, *, queued: bool = False) -> list[WorkflowStatus]:
    """Run a listing (recorded as ``DBOS.listWorkflows``, or ``DBOS.listQueuedWorkflows``
    when ``queued``, inside workflow code)."""
    return perform_or_else(ListWorkflows(query, queued=queued), lambda: _list(query))


async def query_workflows_async(
    query: WorkflowQuery, *, queued: bool = False
) -> list[WorkflowStatus]:
    """``query_workflows`` for code on an event loop."""
    return await perform_or_else_async(ListWorkflows(query, queued=queued), lambda: _list(query))


def _list(query: WorkflowQuery) -> list[WorkflowStatus]:
    rt = runtime()
    return [to_status(r, rt.serializer) for r in rt.store.list_workflows(query)]
