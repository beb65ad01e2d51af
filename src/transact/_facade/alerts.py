"""``@DBOS.alert_handler``: the function DBOS Conductor's ``alert`` messages call."""

from __future__ import annotations

from collections.abc import Callable

from transact._facade import launched
from transact.errors import DBOSException

AlertHandler = Callable[[str, str, dict[str, str]], None]
_handler: AlertHandler | None = None


def alert_handler(func: AlertHandler) -> AlertHandler:
    """Register ``func(name, message, metadata)`` for Conductor alerts (as in DBOS: before
    ``DBOS.launch()``, and at most one). Raises ``DBOSException`` otherwise."""
    global _handler
    if launched.runtime_or_none() is not None:
        raise DBOSException("DBOS.alert_handler must be registered before DBOS.launch()")
    if _handler is not None and _handler is not func:
        raise DBOSException("Only one alert handler can be registered")
    _handler = func
    return func


def registered_handler() -> AlertHandler | None:
    """The registered alert handler, if any."""
    return _handler


def forget() -> None:
    """Drop the handler (``DBOS.destroy(destroy_registry=True)``)."""
    global _handler
    _handler = None
