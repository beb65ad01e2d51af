"""Patching (on the ``DBOS`` class): change a workflow's code while executions recorded
by the old code are still to be recovered (``docs/operations.md``, "Patching")."""

from __future__ import annotations

import asyncio

from transact._facade.lifecycle import configured
from transact._runtime.patching import decide_patch, record_marker
from transact._runtime.state import WorkflowState, current_workflow
from transact.errors import DBOSException

__all__ = ["deprecate_patch", "deprecate_patch_async", "patch", "patch_async"]


def patch(patch_name: str) -> bool:
    """Whether this execution takes the patched code path: True for executions that
    start (or reach this point) after the patch was deployed, False for those recorded
    before it, which must replay the old code::

        if DBOS.patch("use-new-charge"):
            new_charge(order)
        else:
            old_charge(order)

    Needs ``enable_patching`` in the config. Raises ``DBOSException`` outside workflow
    code (in a step too).
    """
    state = _workflow("DBOS.patch")
    taken, position = decide_patch(state, patch_name, deprecated=False)
    if position is not None:
        record_marker(state, patch_name, position)
    return taken


def deprecate_patch(patch_name: str) -> bool:
    """Return True, and step over the marker of ``patch_name`` where an execution
    recorded one: once no execution from before the patch is left, replace
    ``DBOS.patch(name)`` by ``DBOS.deprecate_patch(name)`` and drop the old branch; later,
    when no execution recorded with the marker is left either, remove the call.
    Same requirements as ``patch``."""
    state = _workflow("DBOS.deprecate_patch")
    taken, _ = decide_patch(state, patch_name, deprecated=True)
    return taken


async def patch_async(patch_name: str) -> bool:
    """``DBOS.patch`` without blocking the loop (its position is taken before the first
    ``await``, so concurrent operations cannot move it)."""
    state = _workflow("DBOS.patch_async")
    taken, position = decide_patch(state, patch_name, deprecated=False)
    if position is not None:
        await asyncio.to_thread(record_marker, state, patch_name, position)
    return taken


async def deprecate_patch_async(patch_name: str) -> bool:
    """``DBOS.deprecate_patch`` for async workflow code."""
    state = _workflow("DBOS.deprecate_patch_async")
    taken, _ = decide_patch(state, patch_name, deprecated=True)
    return taken


def _workflow(method: str) -> WorkflowState:
    if not configured().settings.enable_patching:
        raise DBOSException("enable_patching must be True in DBOS configuration")
    state = current_workflow()
    if state is None:
        raise DBOSException(f"{method} must be called from a workflow")
    return state
