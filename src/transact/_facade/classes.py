"""``@DBOS.dbos_class``, ``DBOSConfiguredInstance`` and ``DBOS.register_instance``.

Methods of a registered class are workflows, steps and transactions like functions
(see ``docs/classes.md``): an instance method runs on a configured instance, which a
recovered workflow finds again by its class name and ``config_name``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from transact._facade.launched import runtime_or_none
from transact._runtime.classes import CLASSES, registered_class_name

T = TypeVar("T", bound=type)

logger = logging.getLogger("transact")


def dbos_class(class_name: str | None = None) -> Callable[[T], T]:
    """Register the decorated class, whose methods may then be DBOS workflows, steps
    and transactions. ``class_name`` (default: the class's ``__qualname__``) is stored
    with its workflows and must be unique; another class under it raises
    ``Exception``."""

    def decorate(cls: T) -> T:
        CLASSES.add_class(class_name or cls.__qualname__, cls)
        return cls

    return decorate


def register_instance(inst: object) -> None:
    """Register ``inst`` (a ``DBOSConfiguredInstance``) under its class's registered
    name and its ``config_name``, so recovered workflows find it. A different object
    under the same names raises ``Exception``; registering after launch logs a warning
    (a workflow recovered at launch could not have found it)."""
    config_name = getattr(inst, "config_name", None)
    if not isinstance(config_name, str):
        raise Exception(
            "Function target appears to be a class instance, but does not have `config_name` set"
        )
    class_name = registered_class_name(type(inst)) or type(inst).__qualname__
    if runtime_or_none() is not None:
        logger.warning(
            "Configured instance %s of class %s was registered after DBOS was launched. "
            "This may cause errors during workflow recovery. All configured instances "
            "should be instantiated before DBOS is launched.",
            config_name,
            class_name,
        )
    CLASSES.add_instance(class_name, config_name, inst)


class DBOSConfiguredInstance:
    """Base class of objects whose methods are workflows, steps or transactions.

    ``config_name`` names this instance within its class (``@DBOS.dbos_class``); the
    constructor registers it. Create every instance before ``DBOS.launch()``.
    """

    def __init__(self, config_name: str) -> None:
        self.config_name = config_name
        register_instance(self)
