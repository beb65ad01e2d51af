"""``@DBOS.alert_handler``: the one function DBOS Conductor's ``alert`` messages call."""

from __future__ import annotations

import threading
from collections.abc import Callable

from transact._facade import launched
from transact.errors import DBOSException

AlertHandler = Callable[[str, str, dict[str, str]], None]

_lock = threading.Lock()
_handler: AlertHandler | None = None


def alert_handler(func: AlertHandler) -> AlertHandler:
    """Declare ``func(name, message, metadata)`` as the handler of Conductor's alerts.

    Before ``DBOS.launch()``, and at most one per process (DBOS's errors otherwise).
    """
    global _handler
    with _lock:
        if launched.runtime_or_none() is not None:
            raise DBOSException("alert_handler must be defined before DBOS is launched")
        if _handler is not None:
            raise DBOSException(
                "An alert_handler is already defined. You can only declare one alert_handler."
            )
        _handler = func
    return func


def handle_alert(name: str, message: str, metadata: dict[str, str]) -> bool:
    """Call the declared handler; False if none is declared."""
    handler = _handler
    if handler is None:
        return False
    handler(name, message, metadata)
    return True


def forget_alert_handler() -> None:
    """Drop the declared handler (``DBOS.destroy(destroy_registry=True)`` does)."""
    global _handler
    with _lock:
        _handler = None
