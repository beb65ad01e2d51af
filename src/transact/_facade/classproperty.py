"""A read-only property on the class itself (``DBOS.workflow_id``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class classproperty(Generic[T]):
    """Like ``property``, but read from the class (``DBOS.workflow_id``), computed by a
    function of no arguments."""

    def __init__(self, getter: Callable[[], T]) -> None:
        self.getter = getter
        self.__doc__ = getter.__doc__

    def __get__(self, instance: object, owner: type | None = None) -> T:
        return self.getter()
