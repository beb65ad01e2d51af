"""Required roles (``@DBOS.required_roles``): the check DBOS makes before a function runs.

A workflow is checked when its row is written (start, enqueue, child start: the row
keeps the role that let it in as ``assumed_role``) and again when a stored row is
dispatched (recovery, dequeue), where a denial marks the workflow ERROR.
"""

from __future__ import annotations

from collections.abc import Sequence

from transact._runtime.registry import REGISTRY
from transact.errors import DBOSNotAuthorizedError


def authorize(name: str, required: Sequence[str] | None, roles: Sequence[str] | None) -> str | None:
    """The role under which ``roles`` may run function ``name`` (the first required role
    they hold), None when it requires none; ``DBOSNotAuthorizedError`` otherwise."""
    if not required:
        return None
    if roles is None:
        raise DBOSNotAuthorizedError(
            f"Function {name} requires a role, but was called in a context without "
            "authentication information"
        )
    for role in required:
        if role in roles:
            return role
    raise DBOSNotAuthorizedError(
        f"Function {name} has required roles, but user is not authenticated for any of them"
    )


ROLES_ATTRIBUTE = "__transact_required_roles__"
NAME_ATTRIBUTE = "__transact_operation_name__"


def check_roles(name: str, roles: Sequence[str] | None) -> str | None:
    """``authorize`` against the roles registered for function ``name``."""
    return authorize(name, REGISTRY.required_roles(name), roles)


def register_pending_roles(func: object, name: str) -> None:
    """Roles set by a ``@DBOS.required_roles`` applied below the function's DBOS
    decorator (so before the name was known) take effect under ``name``."""
    roles = getattr(func, ROLES_ATTRIBUTE, None)
    if roles is not None:
        REGISTRY.set_required_roles(name, roles)
