"""Required roles: ``@DBOS.required_roles``, ``@DBOS.default_required_roles``,
``DBOS.assumed_role`` and ``DBOS.set_authentication``.

A function that requires roles runs only for a caller whose authenticated roles
(``DBOSContextSetAuth`` or ``DBOS.set_authentication``) hold one of them; the first one
held becomes the workflow's ``assumed_role``. Otherwise ``DBOSNotAuthorizedError``.
Workflows are checked when started or enqueued and again when recovered or dequeued
(a denial then marks the workflow ERROR); steps and transactions when called in a
workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from transact._facade.classes import dbos_class
from transact._facade.context import set_ambient_auth
from transact._facade.decorators import STEP_ATTRIBUTE
from transact._runtime.classes import registered_class_name
from transact._runtime.registry import REGISTRY, spec_of
from transact._runtime.roles import NAME_ATTRIBUTE, ROLES_ATTRIBUTE
from transact._runtime.state import current_frame

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T", bound=type)


def operation_name(func: object) -> str | None:
    """The registered name of a DBOS workflow, step or transaction (None otherwise)."""
    func = getattr(func, "__func__", func)  # a staticmethod or classmethod object
    spec = spec_of(func)
    if spec is not None:
        return spec.name
    step = getattr(func, STEP_ATTRIBUTE, None)
    if step is not None:
        name: str = step.name
        return name
    txn = getattr(func, NAME_ATTRIBUTE, None)
    return txn if isinstance(txn, str) else None


def required_roles(roles: list[str]) -> Callable[[F], F]:
    """Only callers holding one of ``roles`` may run the decorated workflow, step or
    transaction (put it above ``@DBOS.workflow()``, ``@DBOS.step()`` or
    ``@DBOS.transaction()``; below works too). Overrides a class's default roles."""

    def decorate(func: F) -> F:
        name = operation_name(func)
        if name is None:
            setattr(func, ROLES_ATTRIBUTE, tuple(roles))  # the DBOS decorator applies them
        else:
            REGISTRY.set_required_roles(name, roles)
        return func

    return decorate


def default_required_roles(roles: list[str]) -> Callable[[T], T]:
    """Require ``roles`` for every DBOS method of the decorated class that sets none
    itself (with ``@DBOS.required_roles``); registers the class like ``dbos_class``."""

    def decorate(cls: T) -> T:
        if registered_class_name(cls) is None:
            dbos_class()(cls)
        for member in vars(cls).values():
            name = operation_name(member)
            if name is not None:
                REGISTRY.set_required_roles(name, roles, default=True)
        return cls

    return decorate


def assumed_role() -> str | None:
    """The required role under which the running workflow runs, else None."""
    frame = current_frame()
    return frame.workflow.assumed_role if frame is not None else None


def set_authentication(user: str | None, roles: list[str] | None) -> None:
    """Act as ``user`` with ``roles`` from here on in the current context: in workflow
    code for what it starts next, elsewhere for the workflows started afterwards."""
    frozen = tuple(roles) if roles is not None else None
    frame = current_frame()
    if frame is not None:
        frame.workflow.authenticated_user = user
        frame.workflow.authenticated_roles = frozen
    else:
        set_ambient_auth(user, frozen)
