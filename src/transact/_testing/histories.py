"""Recorded histories as versioned JSON: export one workflow (with its children) from a
store, import one into a store.

The document (``format`` ``"transact-history"``, ``version`` 1) holds the workflow's
row (name, status, serialized inputs, output or error), every checkpoint (function id,
name, serialized output or error, child id, argument digest), the latest value of each
event, and the same document for each child workflow. Values stay in the serializer's
text (``serialization`` names it), so an import restores them byte for byte; ``readable``
fields repeat them decoded (``repr``) for people reading a diff.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from transact._core.checkpoint import Checkpoint
from transact._core.query import WorkflowQuery
from transact._core.status import WorkflowStatusString as S
from transact._serialization import DefaultSerializer, Serializer
from transact._store.protocol import Store
from transact._store.records import WorkflowRecord
from transact.errors import DBOSException, DBOSNonExistentWorkflowError

FORMAT = "transact-history"
VERSION = 1
_ROW_FIELDS: tuple[str, ...] = ("workflow_id", "name", "class_name", "config_name", "status")
_ROW_FIELDS += ("inputs", "output", "error", "serialization", "parent_workflow_id", "created_at")


def _readable(serializer: Serializer, text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return repr(serializer.deserialize(text))
    except Exception:
        return text


def export_history(
    store: Store, workflow_id: str, serializer: Serializer | None = None
) -> dict[str, Any]:
    """The history of ``workflow_id`` (and of its children) as a JSON-ready document.

    Raises ``DBOSNonExistentWorkflowError`` if the workflow is missing.
    """
    serializer = serializer or DefaultSerializer()
    row = store.get_workflow(workflow_id)
    if row is None:
        raise DBOSNonExistentWorkflowError("Workflow", workflow_id)
    checkpoints = []
    for c in store.load_checkpoints(workflow_id):
        entry = {k: v for k, v in attrs.asdict(c).items() if v is not None}
        entry["readable"] = _readable(serializer, c.output)
        checkpoints.append(entry)
    children = store.list_workflows(WorkflowQuery(parent_workflow_ids=(workflow_id,)))
    return {
        "format": FORMAT,
        "version": VERSION,
        "workflow": {f: getattr(row, f) for f in _ROW_FIELDS},
        "readable": {
            "inputs": _readable(serializer, row.inputs),
            "output": _readable(serializer, row.output),
        },
        "checkpoints": checkpoints,
        "events": store.get_all_events(workflow_id),
        "children": [export_history(store, c.workflow_id, serializer) for c in children],
    }


def check_document(document: Mapping[str, Any]) -> None:
    """Raise ``DBOSException`` unless ``document`` is a history this version reads."""
    if document.get("format") != FORMAT:
        raise DBOSException(f"not a {FORMAT} document")
    if document.get("version") != VERSION:
        raise DBOSException(
            f"history version {document.get('version')!r} is not supported (this reads {VERSION})"
        )


def checkpoints_of(document: Mapping[str, Any]) -> list[Checkpoint]:
    """The document's checkpoints as values."""
    names = {f.name for f in attrs.fields(Checkpoint)}
    return [
        Checkpoint(**{k: v for k, v in c.items() if k in names}) for c in document["checkpoints"]
    ]


def import_history(store: Store, document: Mapping[str, Any], *, now_ms: int = 0) -> str:
    """Load a history (and its children's) into ``store``; returns the workflow id.

    The workflow is inserted PENDING, its checkpoints and events are written, then its
    recorded outcome (a finished workflow) is set; a PENDING one stays PENDING (the next
    launch of its executor would recover it). Raises ``DBOSException`` for another
    format or version; an existing workflow of that id is left as it is.
    """
    check_document(document)
    for child in document["children"]:
        import_history(store, child, now_ms=now_ms)
    row = document["workflow"]
    fields = {k: row.get(k) for k in _ROW_FIELDS if k not in ("status", "output", "error")}
    record = WorkflowRecord(status=S.PENDING.value, **fields)
    stored, inserted = store.insert_workflow(record)
    if not inserted:
        return stored.workflow_id
    for checkpoint in checkpoints_of(document):
        store.record_checkpoint(record.workflow_id, checkpoint)
    for key, value in document["events"].items():
        store.set_event(record.workflow_id, key, value, 0, None)
    if row["status"] in (S.SUCCESS.value, S.ERROR.value):
        store.finish_workflow(
            record.workflow_id,
            status=row["status"],
            output=row.get("output"),
            error=row.get("error"),
            now_ms=now_ms,
        )
    return record.workflow_id


def write_history(document: Mapping[str, Any], path: str | Path) -> None:
    """Write ``document`` as indented JSON (stable for a diff in review)."""
    Path(path).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def read_history(path: str | Path) -> dict[str, Any]:
    """Read and check a history document."""
    document: dict[str, Any] = json.loads(Path(path).read_text())
    check_document(document)
    return document
