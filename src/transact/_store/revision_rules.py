"""Rules every store applies alike when it revises a workflow (attributes, rewind)."""

from __future__ import annotations

import json

from transact.errors import DBOSException

__all__ = ["merged_attributes", "rewind_refusal"]


def merged_attributes(current: str | None, attributes: str | None, merge: bool) -> str | None:
    """The attributes text after an update: ``attributes``, or with ``merge`` its keys set
    over ``current``'s."""
    if not merge or current is None or attributes is None:
        return attributes
    merged = dict(json.loads(current))
    merged.update(json.loads(attributes))
    return json.dumps(merged, separators=(",", ":"), sort_keys=True)


def rewind_refusal(workflow_id: str, status: str) -> DBOSException:
    """DBOS's error for rewinding a workflow that is still active."""
    return DBOSException(
        f"Cannot rewind {workflow_id} ({status}): only a workflow in a terminal state can "
        "be rewound, so cancel it first"
    )
