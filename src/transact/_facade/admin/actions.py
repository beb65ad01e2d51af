"""What the admin server and the Conductor connection both do with a request body:
turn listing filters into a query, and fork under a chosen id."""

from __future__ import annotations

from typing import Any

from transact._facade import api_management
from transact._facade.context import SetWorkflowID
from transact._facade.listing import workflow_query
from transact._store.records import WorkflowQuery

# DBOS's body keys -> the list_workflows filters.
LIST_FILTERS = {
    "workflow_uuids": "workflow_ids",
    "workflow_name": "name",
    "authenticated_user": "user",
    "start_time": "start_time",
    "end_time": "end_time",
    "status": "status",
    "application_version": "app_version",
    "forked_from": "forked_from",
    "parent_workflow_id": "parent_workflow_id",
    "queue_name": "queue_name",
    "executor_id": "executor_id",
    "limit": "limit",
    "offset": "offset",
    "sort_desc": "sort_desc",
    "workflow_id_prefix": "workflow_id_prefix",
    "load_input": "load_input",
    "load_output": "load_output",
}


def listing_query(body: dict[str, Any], *, queued: bool) -> WorkflowQuery:
    """The query of a listing body (inputs and outputs not loaded unless asked);
    ``ValueError`` naming an unknown filter."""
    unknown = sorted(set(body) - set(LIST_FILTERS))
    if unknown:
        raise ValueError(f"unknown filter(s): {', '.join(unknown)}")
    filters: dict[str, Any] = {"load_input": False, "load_output": False}
    filters.update({LIST_FILTERS[k]: v for k, v in body.items() if v is not None})
    return workflow_query(**filters, queues_only=queued)


def fork(
    workflow_id: str,
    start_step: int,
    application_version: str | None,
    new_workflow_id: str | None,
) -> str:
    """Fork ``workflow_id`` from ``start_step``, under ``new_workflow_id`` if given;
    return the fork's id."""
    if new_workflow_id:
        with SetWorkflowID(new_workflow_id):
            return api_management.fork_workflow(
                workflow_id, start_step, application_version
            ).workflow_id
    return api_management.fork_workflow(workflow_id, start_step, application_version).workflow_id
