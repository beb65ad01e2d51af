"""Conductor requests about the fleet rather than one workflow: alerts, bulk re-runs
from a failure, aggregates for Conductor's dashboard, and queue configuration.

Same contract as ``requests.py``: each function takes the request and returns the
answer's own fields.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from typing import Any

from transact._facade.admin import actions
from transact._facade.admin.output import queues_metadata
from transact._facade.alerts import handle_alert
from transact._facade.launched import runtime
from transact._facade.listing import workflow_query
from transact._store.records import Checkpoint, WorkflowRecord

# What ``get_workflow_aggregates`` can group by: the request's name -> the row's value.
_GROUPS: dict[str, Callable[[WorkflowRecord], Any]] = {
    "status": lambda r: r.status,
    "name": lambda r: r.name,
    "queue": lambda r: r.queue_name,
    "executor": lambda r: r.executor_id,
    "version": lambda r: r.application_version,
    "app": lambda r: r.application_id,
}


def alert(request: dict[str, Any]) -> dict[str, Any]:
    """``alert``: call ``@DBOS.alert_handler`` with the alert's name, message and metadata."""
    handled = handle_alert(
        str(request.get("name", "")),
        str(request.get("message", "")),
        {str(k): str(v) for k, v in (request.get("metadata") or {}).items()},
    )
    return {"success": handled}


def fork_from_failure(request: dict[str, Any]) -> dict[str, Any]:
    """``fork_from_failure``: fork each of ``workflow_ids`` from its highest failed step
    (``from_last_failure``, the default), its last step (``from_last_step``), a step
    number (``from_step``) or the first step named ``from_step_name``; else step 1."""
    body = request.get("body") or request
    store = runtime().store
    forks = []
    for workflow_id in body.get("workflow_ids") or []:
        log = store.load_checkpoints(str(workflow_id))
        start = _start_step(log, body)
        forks.append(actions.fork(str(workflow_id), start, body.get("application_version"), None))
    return {"new_workflow_ids": forks}


def _start_step(log: list[Checkpoint], body: dict[str, Any]) -> int:
    if body.get("from_step") is not None:
        return max(1, int(body["from_step"]))
    if body.get("from_step_name") is not None:
        named = [c.function_id for c in log if c.function_name == body["from_step_name"]]
        return named[0] if named else 1
    if body.get("from_last_step"):
        return log[-1].function_id if log else 1
    failed = [c.function_id for c in log if c.error is not None]
    if failed:
        return max(failed)
    return log[-1].function_id if log else 1


def get_workflow_aggregates(request: dict[str, Any]) -> dict[str, Any]:
    """``get_workflow_aggregates``: per ``group_by`` value (status, name, queue, executor,
    version or app) of the workflows created between ``start_time`` and ``end_time``:
    their count, earliest creation, longest queue wait and longest run (ms)."""
    body = request.get("body") or request
    key = _GROUPS.get(str(body.get("group_by", "status")), _GROUPS["status"])
    groups: dict[Any, list[WorkflowRecord]] = collections.defaultdict(list)
    for row in _rows(body):
        groups[key(row)].append(row)
    return {
        "output": [
            {
                "group": group,
                "count": len(rows),
                "min_created_at": min(r.created_at for r in rows),
                "max_queue_wait_ms": _max(_queue_waits(rows)),
                "max_latency_ms": _max(
                    r.completed_at - r.created_at for r in rows if r.completed_at is not None
                ),
            }
            for group, rows in sorted(groups.items(), key=lambda item: str(item[0]))
        ]
    }


def get_step_aggregates(request: dict[str, Any]) -> dict[str, Any]:
    """``get_step_aggregates``: per step name, of the workflows created between
    ``start_time`` and ``end_time``: how many ran, failed, and the longest run (ms)."""
    body = request.get("body") or request
    rows = _rows(body)
    logs = runtime().store.load_checkpoints_many([r.workflow_id for r in rows])
    steps: dict[str, list[Checkpoint]] = collections.defaultdict(list)
    for log in logs.values():
        for checkpoint in log:
            steps[checkpoint.function_name].append(checkpoint)
    return {
        "output": [
            {
                "name": name,
                "count": len(runs),
                "errors": sum(1 for c in runs if c.error is not None),
                "max_latency_ms": _max(
                    c.completed_at_epoch_ms - c.started_at_epoch_ms
                    for c in runs
                    if c.completed_at_epoch_ms is not None and c.started_at_epoch_ms is not None
                ),
            }
            for name, runs in sorted(steps.items())
        ]
    }


def list_queues(request: dict[str, Any]) -> dict[str, Any]:
    """``list_queues``: every queue this process serves, with its limits."""
    return {"output": queues_metadata()}


def get_queue(request: dict[str, Any]) -> dict[str, Any]:
    """``get_queue``: one queue's limits, or null."""
    name = str(request.get("queue_name") or (request.get("body") or {}).get("queue_name"))
    found = [q for q in queues_metadata() if q["name"] == name]
    return {"output": found[0] if found else None}


def _rows(body: dict[str, Any]) -> list[WorkflowRecord]:
    query = workflow_query(
        start_time=body.get("start_time"),
        end_time=body.get("end_time"),
        load_input=False,
        load_output=False,
    )
    return runtime().store.list_workflows(query)


def _queue_waits(rows: list[WorkflowRecord]) -> Iterable[int]:
    for row in rows:
        if row.queue_name is not None and row.started_at_epoch_ms is not None:
            yield row.started_at_epoch_ms - row.created_at


def _max(values: Iterable[int]) -> int | None:
    return max(values, default=None)
