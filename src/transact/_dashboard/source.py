"""What the dashboard shows and does, over a system database.

A ``Source`` reads a store with a serializer and acts through the same verbs as
``DBOS``: in an application (the dashboard mounted next to a launched ``DBOS``) it uses the
launched runtime, so a resumed or forked workflow runs here at once; standalone
(``transact dashboard -s URL``) it never runs workflows: resumed and forked ones are
enqueued for the application's executors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from transact._core.checkpoint import Checkpoint
from transact._core.query import WorkflowQuery
from transact._core.status import WorkflowStatusString
from transact._facade import remote
from transact._runtime.services import Services
from transact._serialization import Serializer, deserialize_error
from transact._store.protocol import Store
from transact._store.records import WorkflowRecord

PAGE_SIZE = 50
STATUSES = [s.value for s in WorkflowStatusString]


def show(serializer: Serializer, text: str | None) -> dict[str, Any] | None:
    """A stored value for display: ``{"text": repr of the value}``, or, when the
    serializer cannot decode it here, ``{"raw": the stored text}``."""
    if text is None:
        return None
    try:
        return {"text": repr(serializer.deserialize(text))}
    except Exception:  # a class this process cannot import, a foreign format, ...
        return {"raw": text}


def show_error(serializer: Serializer, text: str | None) -> dict[str, Any] | None:
    """A stored error for display: its class and message, or the raw stored text."""
    if text is None:
        return None
    try:
        error = deserialize_error(serializer, text)
    except Exception:
        return {"raw": text}
    return {"type": type(error).__name__, "message": str(error)}


class Source:
    """The dashboard's reads and actions."""

    def __init__(
        self,
        store: Store,
        serializer: Serializer,
        services: Services | None = None,
        queues: Callable[[], list[dict[str, Any]]] = list,
    ) -> None:
        self.store = store
        self.serializer = serializer
        self.services: Services = services if services is not None else remote.Remote(store)
        self._queues = queues

    # --- reads ----------------------------------------------------------------------

    def workflows(self, query: WorkflowQuery) -> dict[str, Any]:
        """One page of the listing, the counts per status under the same filters (the
        status filter left out, so every count shows), and the total."""
        rows = self.store.list_workflows(attrs.evolve(query, load_input=False, load_output=False))
        counts = self.store.count_workflows(attrs.evolve(query, statuses=None))
        matching = self.store.count_workflows(query)
        return {
            "workflows": [self._summary(r) for r in rows],
            "counts": {status: counts.get(status, 0) for status in STATUSES},
            "total": sum(matching.values()),
        }

    def workflow(self, workflow_id: str) -> dict[str, Any] | None:
        """Everything about one workflow, or None if it does not exist."""
        record = self.store.get_workflow(workflow_id)
        if record is None:
            return None
        children = self.store.list_workflows(
            WorkflowQuery(parent_workflow_ids=(workflow_id,), load_input=False, load_output=False)
        )
        return {
            **self._summary(record),
            "input": show(self.serializer, record.inputs),
            "output": show(self.serializer, record.output),
            "error": show_error(self.serializer, record.error),
            "steps": [self._step(c) for c in self.store.load_checkpoints(workflow_id)],
            "events": {
                key: show(self.serializer, value)
                for key, value in sorted(self.store.get_all_events(workflow_id).items())
            },
            "children": [self._summary(c) for c in children],
        }

    def queues(self) -> list[dict[str, Any]]:
        """Each known queue with its limits and its enqueued and running counts."""
        out = []
        names = {q["name"] for q in self._queues()}
        active = self.store.list_workflows(
            WorkflowQuery(queues_only=True, load_input=False, load_output=False)
        )
        names |= {r.queue_name for r in active if r.queue_name is not None}
        limits = {q["name"]: q for q in self._queues()}
        for name in sorted(names):
            counts = self.store.count_workflows(
                WorkflowQuery(queue_names=(name,), queues_only=True)
            )
            out.append(
                {
                    **limits.get(name, {"name": name}),
                    "enqueued": counts.get("ENQUEUED", 0) + counts.get("DELAYED", 0),
                    "running": counts.get("PENDING", 0),
                }
            )
        return out

    # --- actions --------------------------------------------------------------------

    def cancel(self, workflow_id: str) -> None:
        """Cancel the workflow (its executor stops it at its next operation)."""
        remote.cancel(self.services, workflow_id)

    def resume(self, workflow_id: str) -> None:
        """Put the workflow back in line (an executor of its version runs it)."""
        remote.resume(self.services, workflow_id)

    def fork(self, workflow_id: str, start_step: int) -> str:
        """Fork the workflow from ``start_step``; return the fork's id."""
        return remote.fork(self.services, workflow_id, start_step)

    # --- shapes ---------------------------------------------------------------------

    @staticmethod
    def _summary(r: WorkflowRecord) -> dict[str, Any]:
        return {
            "workflow_id": r.workflow_id,
            "status": r.status,
            "name": r.name,
            "queue_name": r.queue_name,
            "executor_id": r.executor_id,
            "application_version": r.application_version,
            "authenticated_user": r.authenticated_user,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "completed_at": r.completed_at,
            "parent_workflow_id": r.parent_workflow_id,
            "forked_from": r.forked_from,
            "recovery_attempts": r.recovery_attempts,
        }

    def _step(self, c: Checkpoint) -> dict[str, Any]:
        return {
            "function_id": c.function_id,
            "function_name": c.function_name,
            "output": show(self.serializer, c.output),
            "error": show_error(self.serializer, c.error),
            "child_workflow_id": c.child_workflow_id,
            "started_at": c.started_at_epoch_ms,
            "completed_at": c.completed_at_epoch_ms,
        }
