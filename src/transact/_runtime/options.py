"""How to start one workflow: the options the facade gathers from its context managers."""

from __future__ import annotations

import attrs

__all__ = ["StartOptions"]


@attrs.frozen
class StartOptions:
    """How to start one workflow (from the ambient context managers)."""

    workflow_id: str | None = None
    timeout_seconds: float | None = None
    # Children inherit the parent's deadline unless a timeout was set (or detached).
    inherit_deadline: bool = True
    # Who asked (DBOSContextSetAuth); children inherit their parent's.
    authenticated_user: str | None = None
    authenticated_roles: tuple[str, ...] | None = None
    # SetWorkflowID(..., workflow_id_reuse_policy="reject"): an existing id is an error.
    reject_existing_id: bool = False
