"""Registered workflow functions, found by name when a workflow is recovered."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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


REGISTRY = Registry()
