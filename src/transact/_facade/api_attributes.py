"""Workflow attributes (on the ``DBOS`` class): a JSON object stored with a workflow,
set when it starts (``SetWorkflowAttributes``) or later, shown in ``WorkflowStatus`` and
filtered on by ``list_workflows(attributes=...)``."""

from __future__ import annotations

from typing import Any

from transact._core.effects_more import UpdateWorkflowAttributes
from transact._facade.context import attributes_text
from transact._facade.launched import runtime
from transact._facade.routing import perform_or_else, perform_or_else_async
from transact._runtime.clock import now_ms
from transact.errors import DBOSException

__all__ = ["update_workflow_attributes", "update_workflow_attributes_async"]


def update_workflow_attributes(
    workflow_id: str, attributes: dict[str, Any] | None, *, merge: bool = False
) -> None:
    """Replace the attributes of ``workflow_id`` with ``attributes`` (None clears them);
    with ``merge``, set only the keys given, keeping the others. An unknown workflow is
    left alone. Recorded once in workflow code.

    Raises ``DBOSException`` for attributes that are not a JSON-serializable dict, or
    for ``merge`` with None.
    """
    effect = _effect(workflow_id, attributes, merge)
    perform_or_else(effect, lambda: _update(effect))


async def update_workflow_attributes_async(
    workflow_id: str, attributes: dict[str, Any] | None, *, merge: bool = False
) -> None:
    """``DBOS.update_workflow_attributes`` without blocking the loop."""
    effect = _effect(workflow_id, attributes, merge)
    await perform_or_else_async(effect, lambda: _update(effect))


def _effect(
    workflow_id: str, attributes: dict[str, Any] | None, merge: bool
) -> UpdateWorkflowAttributes:
    if merge and attributes is None:
        raise DBOSException("Cannot merge None into workflow attributes")
    text = None if attributes is None else attributes_text(attributes)
    return UpdateWorkflowAttributes(workflow_id, text, merge)


def _update(effect: UpdateWorkflowAttributes) -> None:
    rt = runtime()
    rt.store.update_workflow_attributes(
        effect.workflow_id, effect.attributes, merge=effect.merge, now_ms=now_ms(rt.clock)
    )
