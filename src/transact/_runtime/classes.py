"""Classes and configured instances whose methods are workflows, as DBOS has them.

A workflow method is registered once, under its qualified name (``Class.method``), like
a function. What differs is the target it is called on: an instance method runs on a
configured instance (found again after a crash by its class name and ``config_name``),
a class method on its class (found by its class name). The target is not stored with
the inputs; the row carries ``class_name`` and ``config_name`` instead, and recovery
binds the body to the registered target before running it.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

import attrs

from transact._runtime.registry import WorkflowSpec
from transact.errors import DBOSWorkflowFunctionNotFoundError

CLASS_NAME_ATTRIBUTE = "__transact_class_name__"

FUNCTION, INSTANCE_METHOD, CLASS_METHOD = "function", "instance", "class"


def method_kind(func: Callable[..., Any]) -> str:
    """How ``func`` is called, by DBOS's rule: a first parameter named ``self`` makes an
    instance method, ``cls`` a class method, anything else a plain function (static
    methods included)."""
    try:
        params = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return FUNCTION
    first = params[0] if params else None
    return {"self": INSTANCE_METHOD, "cls": CLASS_METHOD}.get(first or "", FUNCTION)


class ClassRegistry:
    """Registered class names -> classes, and ``class/config`` -> configured instances."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._classes: dict[str, type] = {}
        self._instances: dict[str, object] = {}

    def add_class(self, name: str, cls: type) -> None:
        """Register ``cls`` as ``name``; another class under that name raises."""
        with self._lock:
            known = self._classes.get(name)
            # The same class again (a module reloaded in tests) replaces it.
            if known is not None and _where(known) != _where(cls):
                raise Exception(f"Duplicate type registration for class '{name}'")
            self._classes[name] = cls
        setattr(cls, CLASS_NAME_ATTRIBUTE, name)

    def add_instance(self, class_name: str, config_name: str, instance: object) -> None:
        """Register ``instance``; a different object under the same names raises."""
        key = f"{class_name}/{config_name}"
        with self._lock:
            known = self._instances.get(key)
            if known is not None and known is not instance:
                raise Exception(
                    f"Duplicate instance registration for class '{class_name}' "
                    f"instance '{config_name}'"
                )
            self._instances[key] = instance

    def cls(self, name: str) -> type | None:
        """The class registered as ``name``."""
        return self._classes.get(name)

    def instance(self, class_name: str, config_name: str) -> object | None:
        """The instance registered under ``class_name``/``config_name``."""
        return self._instances.get(f"{class_name}/{config_name}")

    def clear(self) -> None:
        """Forget every class and instance (``DBOS.destroy(destroy_registry=True)``)."""
        with self._lock:
            self._classes.clear()
            self._instances.clear()


def _where(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


CLASSES = ClassRegistry()


def registered_class_name(cls: type) -> str | None:
    """The name ``cls`` was registered under with ``@DBOS.dbos_class``, or None."""
    name = getattr(cls, CLASS_NAME_ATTRIBUTE, None)
    return name if isinstance(name, str) and CLASSES.cls(name) is not None else None


def bind(spec: WorkflowSpec, target: object) -> WorkflowSpec:
    """``spec`` called on ``target`` (an instance or a class, by the spec's kind):
    the body with the target bound first, and the names the row stores.

    Raises ``Exception`` with DBOS's text when the target's class (or the instance)
    is not registered.
    """
    if spec.kind == INSTANCE_METHOD:
        config_name = getattr(target, "config_name", None)
        if config_name is None:
            raise Exception(
                "Function target appears to be a class instance, but does not have "
                "`config_name` set"
            )
        class_name = registered_class_name(type(target))
        if class_name is None or CLASSES.instance(class_name, config_name) is not target:
            raise Exception(
                "Function target appears to be a class instance, but is not properly registered"
            )
        return _bound(spec, target, class_name, config_name)
    if spec.kind == CLASS_METHOD:
        class_name = registered_class_name(target) if isinstance(target, type) else None
        if class_name is None:
            raise Exception("Function target appears to be a class, but is not properly registered")
        return _bound(spec, target, class_name, None)
    return spec


def _bound(
    spec: WorkflowSpec, target: object, class_name: str, config_name: str | None
) -> WorkflowSpec:
    return attrs.evolve(
        spec,
        func=functools.partial(spec.func, target),
        class_name=class_name,
        config_name=config_name,
        kind=FUNCTION,  # bound: called with the stored arguments alone
    )


def split_target(
    spec: WorkflowSpec, func: object, args: tuple[Any, ...]
) -> tuple[WorkflowSpec, tuple[Any, ...]]:
    """The spec and arguments of a call of ``func`` (a workflow, or a workflow method
    bound to its target) with ``args``: a method's target comes from the bound method,
    else from the first argument, and is bound into the spec."""
    if spec.kind == FUNCTION:
        return spec, args
    target = getattr(func, "__self__", None)
    if target is None:
        if not args:
            raise TypeError(f"workflow method {spec.name} needs its target as first argument")
        target, args = args[0], args[1:]
    return bind(spec, target), args


def rebind(
    spec: WorkflowSpec, workflow_id: str, class_name: str | None, config_name: str | None
) -> WorkflowSpec:
    """``spec`` bound to the target a stored row names (recovery, dequeue, children)."""
    if spec.kind == INSTANCE_METHOD:
        instance = (
            CLASSES.instance(class_name, config_name)
            if class_name is not None and config_name is not None
            else None
        )
        if instance is None:
            raise DBOSWorkflowFunctionNotFoundError(
                workflow_id,
                f"no instance {config_name!r} of class {class_name!r} is registered "
                f"for workflow {spec.name!r}",
            )
        return _bound(spec, instance, class_name or "", config_name)
    if spec.kind == CLASS_METHOD:
        cls = CLASSES.cls(class_name) if class_name is not None else None
        if cls is None:
            raise DBOSWorkflowFunctionNotFoundError(
                workflow_id, f"no class {class_name!r} is registered for workflow {spec.name!r}"
            )
        return _bound(spec, cls, class_name or "", None)
    return spec
