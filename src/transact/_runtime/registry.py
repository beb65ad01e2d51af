"""Registered workflow functions, found by name when a workflow is recovered."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from transact.errors import DBOSConflictingRegistrationError

DEFAULT_MAX_RECOVERY_ATTEMPTS = 100
logger = logging.getLogger("dbos")


@attrs.frozen
class WorkflowSpec:
    """A workflow function as registered: its body, its name and its options.

    ``is_generator`` marks a ``transact.fx`` workflow, whose body yields effects;
    ``is_async`` an ``async def`` workflow, whose body awaits its steps.
    """

    name: str
    func: Callable[..., Any] = attrs.field(eq=False)
    max_recovery_attempts: int | None = DEFAULT_MAX_RECOVERY_ATTEMPTS
    is_generator: bool = False
    is_async: bool = False
    # How it is called: "function", or an "instance" / "class" method whose target is
    # bound at call time (``classes.py``); a bound spec carries the names it stores.
    kind: str = "function"
    class_name: str | None = None
    config_name: str | None = None
    # DBOS's WorkflowSerializationFormat value ("portable", "native") or None (default).
    serialization_type: str | None = None
    # ``(args, kwargs) -> (args, kwargs)``, run when a persisted workflow is dispatched.
    validate_args: Callable[..., Any] | None = attrs.field(default=None, eq=False)


SPEC_ATTRIBUTE = "__transact_workflow__"


def spec_of(func: object) -> WorkflowSpec | None:
    """The spec a decorated workflow carries, or None for any other callable."""
    spec = getattr(func, SPEC_ATTRIBUTE, None)
    return spec if isinstance(spec, WorkflowSpec) else None


class Registry:
    """Name -> workflow spec, process-wide (decorators register at import time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workflows: dict[str, WorkflowSpec] = {}
        self._step_names: set[str] = set()
        # Function name -> the roles it requires (``@DBOS.required_roles``).
        self._roles: dict[str, tuple[str, ...]] = {}

    def add_workflow(self, spec: WorkflowSpec) -> None:
        """Register ``spec``; a name already used by a step is a conflict."""
        with self._lock:
            if spec.name in self._step_names:
                raise DBOSConflictingRegistrationError(spec.name)
            # Re-registering a name (a module reloaded in tests) replaces it, as DBOS does,
            # with DBOS's warning when it is another function.
            existing = self._workflows.get(spec.name)
            if existing is not None and existing.func is not spec.func:
                logger.warning(
                    "Duplicate registration of function '%s'. A function named '%s' has "
                    "already been registered with DBOS. All functions registered with DBOS "
                    "must have unique names.",
                    spec.name,
                    spec.name,
                )
            self._workflows[spec.name] = spec

    def add_step(self, name: str) -> None:
        """Record a step name; a name already used by a workflow is a conflict."""
        with self._lock:
            if name in self._workflows:
                raise DBOSConflictingRegistrationError(name)
            self._step_names.add(name)

    def set_required_roles(self, name: str, roles: Sequence[str], *, default: bool = False) -> None:
        """Require ``roles`` for function ``name``; a ``default`` (a class's) does not
        override roles set on the function itself."""
        with self._lock:
            if not default or name not in self._roles:
                self._roles[name] = tuple(roles)

    def required_roles(self, name: str) -> tuple[str, ...] | None:
        """The roles function ``name`` requires (None: any caller may run it)."""
        return self._roles.get(name)

    def workflow(self, name: str) -> WorkflowSpec | None:
        """The workflow registered under ``name``."""
        return self._workflows.get(name)

    def workflows(self) -> list[WorkflowSpec]:
        """Every registered workflow."""
        with self._lock:
            return list(self._workflows.values())

    def clear(self) -> None:
        """Forget everything (``DBOS.destroy(destroy_registry=True)``)."""
        with self._lock:
            self._workflows.clear()
            self._step_names.clear()
            self._roles.clear()


REGISTRY = Registry()
