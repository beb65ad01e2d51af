"""DBOS Conductor's requests about a workflow's whole footprint: its messages, its
streams, and export / import of workflows (with their descendants if asked).

Conductor moves an export as text: base64 of the gzip of the pickle of the list of
``ExportedWorkflow`` dicts (plain dicts, so unpickling needs none of transact's classes).
Values in the inspection replies are shown as ``get_workflow_events`` shows them: the
``str`` of the deserialized value.
"""

from __future__ import annotations

import base64
import gzip
import pickle
from typing import Any

from transact._facade.launched import runtime
from transact._runtime.handlers.streams import STREAM_CLOSED_TEXT
from transact._store.exports import ExportedWorkflow
from transact.errors import DBOSException, DBOSNonExistentWorkflowError

__all__ = [
    "decode_export",
    "encode_export",
    "export_workflow",
    "export_workflow_request",
    "get_workflow_notifications",
    "get_workflow_streams",
    "import_workflow",
    "import_workflow_request",
]

_EXPORT_KEYS = frozenset(ExportedWorkflow.__annotations__)


def export_workflow(workflow_id: str, *, export_children: bool) -> list[ExportedWorkflow]:
    """The workflow's export, then (with ``export_children``) its descendants', parents
    before children. Raises ``DBOSNonExistentWorkflowError`` for an unknown id."""
    store = runtime().store
    ids = [workflow_id, *(store.descendants([workflow_id]) if export_children else [])]
    exported = store.export_workflows(ids)
    if not exported:
        raise DBOSNonExistentWorkflowError("target", workflow_id)
    return exported


def import_workflow(exported: list[ExportedWorkflow]) -> None:
    """Write every exported workflow in one transaction; an id that already exists
    refuses the whole import (``DBOSConflictingWorkflowError``, nothing written)."""
    runtime().store.import_workflows(exported)


def encode_export(exported: list[ExportedWorkflow]) -> str:
    """The text Conductor carries: base64(gzip(pickle(exported)))."""
    return base64.b64encode(gzip.compress(pickle.dumps(exported))).decode("ascii")


def decode_export(text: str) -> list[ExportedWorkflow]:
    """``encode_export``'s inverse, checked to be a list of exports (``DBOSException``
    otherwise). The pickle is trusted as Conductor's own, as DBOS trusts it."""
    try:
        value = pickle.loads(gzip.decompress(base64.b64decode(text, validate=True)))
    except Exception as exc:  # any malformed payload is one kind of failure to the caller
        raise DBOSException(f"cannot decode the serialized workflow: {exc}") from exc
    if not isinstance(value, list) or not all(
        isinstance(e, dict) and e.keys() >= _EXPORT_KEYS for e in value
    ):
        raise DBOSException("the serialized workflow is not a list of exported workflows")
    return value


def get_workflow_notifications(request: dict[str, Any]) -> dict[str, Any]:
    """``get_workflow_notifications``: the messages sent to a workflow, consumed or not,
    in send order."""
    rt = runtime()
    messages = rt.store.list_messages(str(request["workflow_id"]))
    return {
        "notifications": [
            {
                "topic": m.topic,
                "message": str(rt.serializer.deserialize(m.message)),
                "created_at_epoch_ms": m.created_at_epoch_ms,
                "consumed": m.consumed,
            }
            for m in messages
        ]
    }


def get_workflow_streams(request: dict[str, Any]) -> dict[str, Any]:
    """``get_workflow_streams``: every stream entry, by key then offset. A closed
    stream's close marker is its last entry, with ``closed`` true and ``value`` null
    (not the marker's text, which no writer wrote)."""
    rt = runtime()
    streams = []
    for entry in rt.store.list_stream_entries(str(request["workflow_id"])):
        closed = entry.value == STREAM_CLOSED_TEXT
        value = None if closed else str(rt.serializer.deserialize(entry.value))
        streams.append({"key": entry.key, "offset": entry.offset, "value": value, "closed": closed})
    return {"streams": streams}


def export_workflow_request(request: dict[str, Any]) -> dict[str, Any]:
    """``export_workflow``: the workflow (and with ``export_children`` its descendants)
    as ``serialized_workflow``, the text ``encode_export`` makes."""
    exported = export_workflow(
        str(request["workflow_id"]), export_children=bool(request.get("export_children"))
    )
    return {"serialized_workflow": encode_export(exported)}


def import_workflow_request(request: dict[str, Any]) -> dict[str, Any]:
    """``import_workflow``: write the workflows of ``serialized_workflow``, all or none."""
    import_workflow(decode_export(str(request["serialized_workflow"])))
    return {"success": True}
