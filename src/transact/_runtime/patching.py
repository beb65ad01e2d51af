"""``DBOS.patch`` and ``DBOS.deprecate_patch``: a marker checkpoint that tells code
deployed after a change which path a workflow took.

Let P be the next function id. ``patch`` takes P for its marker ``DBOS.patch-<name>``
when P is free (a new execution, or a replay past the end of its log: the new code
path) or already holds that marker, and returns True; when P holds some other
checkpoint (an execution recorded before the patch existed) it returns False and takes
nothing, so the old path replays unchanged. ``deprecate_patch`` returns True always and
takes P only if the marker is there, so the patch's branch can be removed once no
workflow from before the patch is left.
"""

from __future__ import annotations

from transact._core.checkpoint import Checkpoint
from transact._runtime.clock import now_ms
from transact._runtime.recording import check_cancelled, record
from transact._runtime.state import WorkflowState

__all__ = ["decide_patch", "patch_marker", "record_marker"]


def patch_marker(name: str) -> str:
    """The checkpoint name of patch ``name``."""
    return f"DBOS.patch-{name}"


def decide_patch(state: WorkflowState, name: str, *, deprecated: bool) -> tuple[bool, int | None]:
    """The patch's answer, and the function id of a marker still to record (None when
    there is nothing to write). Takes the id at once, so no later effect can take it."""
    check_cancelled(state)
    marker = patch_marker(name)
    with state.lock:
        position = state.function_id + 1
        recorded = state.log.get(position)
        if recorded is not None and recorded.function_name == marker:
            state.function_id = position
            return True, None
        if recorded is not None or deprecated:
            return deprecated, None
        state.function_id = position
        return True, position


def record_marker(state: WorkflowState, name: str, position: int) -> None:
    """Record the marker of patch ``name`` at ``position``."""
    now = now_ms(state.env.clock)
    record(
        state,
        Checkpoint(
            position, patch_marker(name), started_at_epoch_ms=now, completed_at_epoch_ms=now
        ),
    )
