"""The JSON shapes of the admin server (and of DBOS Conductor): ``WorkflowsOutput`` and
the step list.

Every ``WorkflowsOutput`` value is a string or null, as DBOS sends it: times are epoch
milliseconds as strings, inputs, outputs and errors their ``str()``.
"""

from __future__ import annotations

import json
from typing import Any

from transact._facade.launched import runtime_or_none
from transact._runtime.queue_definitions import limits_of
from transact._runtime.queue_runner import QUEUES
from transact._runtime.status import StepInfo, WorkflowStatus


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def workflows_output(status: WorkflowStatus) -> dict[str, str | None]:
    """DBOS's ``WorkflowsOutput`` of one workflow."""
    return {
        "WorkflowUUID": status.workflow_id,
        "Status": status.status,
        "WorkflowName": status.name,
        "WorkflowClassName": status.class_name,
        "WorkflowConfigName": status.config_name,
        "AuthenticatedUser": status.authenticated_user,
        "AssumedRole": status.assumed_role,
        "AuthenticatedRoles": (
            json.dumps(status.authenticated_roles)
            if status.authenticated_roles is not None
            else None
        ),
        "Input": _text(status.input),
        "Output": _text(status.output),
        "Error": _text(status.error),
        "CreatedAt": _text(status.created_at),
        "UpdatedAt": _text(status.updated_at),
        "QueueName": status.queue_name,
        "ApplicationVersion": status.app_version,
        "ExecutorID": status.executor_id,
        "WorkflowTimeoutMS": _text(status.workflow_timeout_ms),
        "WorkflowDeadlineEpochMS": _text(status.workflow_deadline_epoch_ms),
        "DeduplicationID": status.deduplication_id,
        "Priority": _text(status.priority),
        "QueuePartitionKey": status.queue_partition_key,
        "ForkedFrom": status.forked_from,
        "WasForkedFrom": _text(status.was_forked_from),
        "ParentWorkflowID": status.parent_workflow_id,
        "DequeuedAt": _text(status.dequeued_at),
        "DelayUntilEpochMS": _text(status.delay_until_epoch_ms),
        "CompletedAt": _text(status.completed_at),
        "Attributes": None if status.attributes is None else json.dumps(status.attributes),
        "ScheduleName": getattr(status, "schedule_name", None),
        "ApplicationName": status.application_name,
    }


def step_output(step: StepInfo) -> dict[str, Any]:
    """One step as ``GET /workflows/{id}/steps`` lists it (output and error as text)."""
    return {
        "function_id": step["function_id"],
        "function_name": step["function_name"],
        "output": _text(step["output"]),
        "error": _text(step["error"]),
        "child_workflow_id": step["child_workflow_id"],
        "started_at_epoch_ms": _text(step["started_at_epoch_ms"]),
        "completed_at_epoch_ms": _text(step["completed_at_epoch_ms"]),
    }


def queues_metadata() -> list[dict[str, Any]]:
    """Every queue declared in this process, then every one kept in the database, with
    its limits (DBOS's ``/dbos-workflow-queues-metadata``: unset limits left out)."""
    out = []
    declared = [(q.name, q.limits) for q in QUEUES.all()]
    rt = runtime_or_none()
    stored = [] if rt is None else rt.store.list_queues()
    names = {name for name, _ in declared}
    declared += [(r.name, limits_of(r)) for r in stored if r.name not in names]
    for name, limits in declared:
        rate = limits.rate_limit
        entry = {
            "name": name,
            "concurrency": limits.concurrency,
            "workerConcurrency": limits.worker_concurrency,
            "rateLimit": (
                {"limit": rate.limit, "period": rate.period_ms / 1000} if rate is not None else None
            ),
        }
        out.append({k: v for k, v in entry.items() if v is not None})
    return out
