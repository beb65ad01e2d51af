"""Deterministic identifiers derived from a workflow's position."""

from __future__ import annotations


def child_workflow_id(parent_workflow_id: str, function_id: int) -> str:
    """The id a child started at ``function_id`` of its parent gets when none was set.

    It depends only on the parent and the position, so a replayed parent attaches to the
    same child instead of starting another.
    """
    return f"{parent_workflow_id}-{function_id}"


def validate_workflow_id(workflow_id: object) -> str:
    """Return ``workflow_id`` if usable as an id; raise ``ValueError`` otherwise."""
    if not isinstance(workflow_id, str):
        raise ValueError(f"a workflow id must be a string, not {type(workflow_id).__name__}")
    if not workflow_id.strip():
        raise ValueError("a workflow id must not be empty or only whitespace")
    return workflow_id
