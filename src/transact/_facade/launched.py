"""The launched runtime, as the facade reaches it."""

from __future__ import annotations

import asyncio
import contextvars

from transact._runtime.runtime import Runtime
from transact.errors import DBOSException

_runtime: Runtime | None = None

MAIN_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "transact_main_loop", default=None
)
"""The application's event loop, for a launch run off that loop (the web server's
lifespan launches in a worker thread, which carries this variable)."""


def runtime() -> Runtime:
    """The launched runtime; raise a clear error before ``DBOS.launch()``."""
    if _runtime is None:
        raise DBOSException(
            "DBOS is not launched: create DBOS(config=...) and call DBOS.launch() first"
        )
    return _runtime


def runtime_or_none() -> Runtime | None:
    """The launched runtime, or None."""
    return _runtime


def set_runtime(value: Runtime | None) -> None:
    """Install (launch) or remove (destroy) the runtime."""
    global _runtime
    _runtime = value
