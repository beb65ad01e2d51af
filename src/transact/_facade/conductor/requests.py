"""What this process answers to each DBOS Conductor request type.

Each answer function takes the request (a JSON object: ``type``, ``request_id`` and the
type's fields) and returns the answer's own fields; ``client.py`` adds ``type``,
``request_id`` and ``error_message``. Field names are DBOS's.
"""

from __future__ import annotations

import collections
import socket
from collections.abc import Callable
from typing import Any

from transact._facade import alerts, api_management, api_workflows
from transact._facade.admin import actions, maintenance
from transact._facade.admin.output import step_output, workflows_output
from transact._facade.launched import runtime
from transact._facade.listing import query_workflows, workflow_query
from transact._store.records import WorkflowQuery
from transact.errors import DBOSException

Answer = Callable[[dict[str, Any]], dict[str, Any]]
DBOS_LANGUAGE = "python"


def executor_info(metadata: dict[str, Any] | None, version: str) -> Answer:
    """``executor_info``: who this process is."""

    def answer(_: dict[str, Any]) -> dict[str, Any]:
        rt = runtime()
        return {
            "executor_id": rt.executor_id,
            "application_version": rt.application_version,
            "hostname": socket.gethostname(),
            "language": DBOS_LANGUAGE,
            "dbos_version": version,
            "executor_metadata": metadata,
        }

    return answer


def _ids(request: dict[str, Any]) -> list[str]:
    ids = request.get("workflow_ids")
    if ids is None:
        ids = [request["workflow_id"]]
    return [str(i) for i in ids]


def recovery(request: dict[str, Any]) -> dict[str, Any]:
    """``recovery``: run the PENDING workflows of ``executor_ids`` here."""
    runtime().recover_pending(list(request.get("executor_ids") or []))
    return {"success": True}


def alert(request: dict[str, Any]) -> dict[str, Any]:
    """``alert``: call the ``@DBOS.alert_handler`` with ``name``, ``message``, ``metadata``."""
    handler = alerts.registered_handler()
    if handler is None:
        raise DBOSException("no alert handler is registered (@DBOS.alert_handler)")
    handler(str(request.get("name")), str(request.get("message")), request.get("metadata") or {})
    return {"success": True}


def cancel(request: dict[str, Any]) -> dict[str, Any]:
    """``cancel`` one workflow or ``workflow_ids`` (with ``cancel_children``)."""
    ids = _ids(request)
    rt = runtime()
    if request.get("cancel_children"):
        ids = ids + rt.store.descendants(ids)
    rt.cancel(ids)
    return {"success": True}


def delete(request: dict[str, Any]) -> dict[str, Any]:
    """``delete`` one workflow or ``workflow_ids`` (with ``delete_children``)."""
    children = bool(request.get("delete_children"))
    for workflow_id in _ids(request):
        api_management.delete_workflow(workflow_id, children)
    return {"success": True}


def resume(request: dict[str, Any]) -> dict[str, Any]:
    """``resume`` one workflow or ``workflow_ids``."""
    for workflow_id in _ids(request):
        api_management.resume_workflow(workflow_id)
    return {"success": True}


def restart(request: dict[str, Any]) -> dict[str, Any]:
    """``restart``: fork from the first step."""
    api_management.fork_workflow(str(request["workflow_id"]), 1)
    return {"success": True}


def _query(body: dict[str, Any], *, queued: bool) -> WorkflowQuery:
    return actions.listing_query(body, queued=queued)


def list_workflows(request: dict[str, Any]) -> dict[str, Any]:
    """``list_workflows``: the listing of ``body``'s filters."""
    statuses = query_workflows(_query(request.get("body") or {}, queued=False))
    return {"output": [workflows_output(s) for s in statuses]}


def list_queued_workflows(request: dict[str, Any]) -> dict[str, Any]:
    """``list_queued_workflows``: the queued listing of ``body``'s filters."""
    statuses = query_workflows(_query(request.get("body") or {}, queued=True), queued=True)
    return {"output": [workflows_output(s) for s in statuses]}


def get_workflow(request: dict[str, Any]) -> dict[str, Any]:
    """``get_workflow``: one workflow, or null."""
    status = api_workflows.get_workflow_status(str(request["workflow_id"]))
    return {"output": workflows_output(status) if status is not None else None}


def exist_pending_workflows(request: dict[str, Any]) -> dict[str, Any]:
    """``exist_pending_workflows``: whether an executor has PENDING workflows of a version."""
    pending = runtime().store.pending_workflow_ids(
        str(request["executor_id"]), request.get("application_version")
    )
    return {"exist": bool(pending)}


def list_steps(request: dict[str, Any]) -> dict[str, Any]:
    """``list_steps``: a workflow's recorded operations."""
    steps = api_workflows.list_workflow_steps(str(request["workflow_id"]))
    return {"output": [step_output(s) for s in steps]}


def fork_workflow(request: dict[str, Any]) -> dict[str, Any]:
    """``fork_workflow``: ``body`` names the workflow, start step, version and new id."""
    body = request["body"]
    new_id = actions.fork(
        str(body["workflow_id"]),
        int(body.get("start_step", 1)),
        body.get("application_version"),
        body.get("new_workflow_id"),
    )
    return {"new_workflow_id": new_id}


def retention(request: dict[str, Any]) -> dict[str, Any]:
    """``retention``: garbage collection and the global timeout, as ``body`` asks."""
    body = request.get("body") or {}
    rt = runtime()
    if body.get("gc_cutoff_epoch_ms") is not None or body.get("gc_rows_threshold") is not None:
        maintenance.garbage_collect(
            rt.store,
            body.get("gc_cutoff_epoch_ms"),
            body.get("gc_rows_threshold"),
            batch_size=body.get("gc_batch_size") or maintenance.DEFAULT_GC_BATCH,
        )
    if body.get("timeout_cutoff_epoch_ms") is not None:
        timed_out = maintenance.timed_out_workflows(rt.store, body["timeout_cutoff_epoch_ms"])
        if timed_out:
            rt.cancel(timed_out)
    return {"success": True}


def get_metrics(request: dict[str, Any]) -> dict[str, Any]:
    """``get_metrics``: workflows started per name and steps completed per name between
    ``start_time`` and ``end_time`` (ISO-8601)."""
    query = workflow_query(
        start_time=request.get("start_time"),
        end_time=request.get("end_time"),
        load_input=False,
        load_output=False,
    )
    rows = runtime().store.list_workflows(query)
    workflows = collections.Counter(r.name for r in rows)
    low, high = query.created_after, query.created_before
    steps: collections.Counter[str] = collections.Counter()
    logs = runtime().store.load_checkpoints_many([r.workflow_id for r in rows])
    for log in logs.values():
        for checkpoint in log:
            done = checkpoint.completed_at_epoch_ms
            if done is not None and (low is None or done >= low) and (high is None or done <= high):
                steps[checkpoint.function_name] += 1
    metrics = [
        {"metric_type": "workflow_count", "metric_name": name, "value": count}
        for name, count in sorted(workflows.items())
    ] + [
        {"metric_type": "step_count", "metric_name": name, "value": count}
        for name, count in sorted(steps.items())
    ]
    return {"metrics": metrics}


def get_workflow_events(request: dict[str, Any]) -> dict[str, Any]:
    """``get_workflow_events``: a workflow's events, latest value per key (as text)."""
    events = runtime().store.get_all_events(str(request["workflow_id"]))
    rt = runtime()
    return {
        "events": [
            {"key": key, "value": str(rt.serializer.deserialize(value))}
            for key, value in sorted(events.items())
        ]
    }
