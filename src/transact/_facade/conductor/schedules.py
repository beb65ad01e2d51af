"""Conductor's schedule requests: list, get, pause, resume, backfill and trigger the
schedules kept in the database (``DBOS.create_schedule``'s), through the same functions
as the ``DBOS`` class. Same contract as ``requests.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from transact._facade import api_schedules
from transact._facade.api_schedules import WorkflowSchedule


def _shown(schedule: WorkflowSchedule) -> dict[str, Any]:
    """A schedule as JSON: its context as text (it may hold any value)."""
    return {**schedule, "context": repr(schedule["context"])}


def _name(request: dict[str, Any]) -> str:
    return str(request.get("schedule_name") or (request.get("body") or {})["schedule_name"])


def list_schedules(request: dict[str, Any]) -> dict[str, Any]:
    """``list_schedules``: ``body`` filters ``status``, ``workflow_name``,
    ``schedule_name_prefix``."""
    body = request.get("body") or {}
    schedules = api_schedules.list_schedules(
        status=body.get("status"),
        workflow_name=body.get("workflow_name"),
        schedule_name_prefix=body.get("schedule_name_prefix"),
    )
    return {"output": [_shown(s) for s in schedules]}


def get_schedule(request: dict[str, Any]) -> dict[str, Any]:
    """``get_schedule``: one schedule, or null."""
    schedule = api_schedules.get_schedule(_name(request))
    return {"output": None if schedule is None else _shown(schedule)}


def pause_schedule(request: dict[str, Any]) -> dict[str, Any]:
    """``pause_schedule``."""
    api_schedules.pause_schedule(_name(request))
    return {"success": True}


def resume_schedule(request: dict[str, Any]) -> dict[str, Any]:
    """``resume_schedule``."""
    api_schedules.resume_schedule(_name(request))
    return {"success": True}


def backfill_schedule(request: dict[str, Any]) -> dict[str, Any]:
    """``backfill_schedule``: every time between ``start`` and ``end`` (ISO-8601);
    the ids of the workflows enqueued."""
    body = request.get("body") or request
    handles = api_schedules.backfill_schedule(
        _name(request), datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])
    )
    return {"workflow_ids": [h.workflow_id for h in handles]}


def trigger_schedule(request: dict[str, Any]) -> dict[str, Any]:
    """``trigger_schedule``: run the schedule's workflow now; its id."""
    return {"workflow_id": api_schedules.trigger_schedule(_name(request)).workflow_id}
