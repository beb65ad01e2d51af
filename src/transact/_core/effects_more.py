"""Effects of DBOS's later management surface: bulk cancel, resume and delete, rewind,
workflow attributes and patch markers (kept apart from ``effects`` to keep each module
small; the public ``transact.effects`` re-exports both)."""

from __future__ import annotations

import attrs

from transact._core.effects import Effect

__all__ = [
    "CancelWorkflows",
    "DeleteWorkflows",
    "ResumeWorkflows",
    "RewindWorkflow",
    "UpdateWorkflowAttributes",
]


@attrs.frozen
class CancelWorkflows(Effect[None]):
    """Cancel every one of ``workflow_ids`` (and descendants with ``cancel_children``)."""

    workflow_ids: tuple[str, ...]
    cancel_children: bool = False

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.cancelWorkflow"


@attrs.frozen
class ResumeWorkflows(Effect[None]):
    """Resume every one of ``workflow_ids`` (all must exist)."""

    workflow_ids: tuple[str, ...]
    queue_name: str | None = None

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.resumeWorkflow"


@attrs.frozen
class DeleteWorkflows(Effect[None]):
    """Delete every one of ``workflow_ids`` that exists (and descendants)."""

    workflow_ids: tuple[str, ...]
    delete_children: bool = False

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.deleteWorkflow"


@attrs.frozen
class RewindWorkflow(Effect[None]):
    """Rewind the finished ``workflow_id`` to ``start_step`` and run it again from there."""

    workflow_id: str
    start_step: int
    queue_name: str | None = None

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.rewindWorkflow"


@attrs.frozen
class UpdateWorkflowAttributes(Effect[None]):
    """Replace (or with ``merge`` update) the attributes of ``workflow_id``."""

    workflow_id: str
    attributes: str | None  # JSON text, or None to clear
    merge: bool = False

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.updateWorkflowAttributes"
