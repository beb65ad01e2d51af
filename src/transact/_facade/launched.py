"""The launched runtime, as the facade reaches it."""

from __future__ import annotations

import asyncio
import contextvars

from transact._runtime.runtime import Runtime
from transact.errors import DBOSException, DBOSWorkflowFunctionNotFoundError

_runtime: Runtime | None = None
_configured = False  # whether a DBOS(config=...) exists (set by lifecycle)

MAIN_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "transact_main_loop", default=None
)
"""The application's event loop, for a launch run off that loop (the web server's
lifespan launches in a worker thread, which carries this variable)."""


def runtime() -> Runtime:
    """The launched runtime; raise a clear error before ``DBOS.launch()``."""
    if _runtime is None:
        if not _configured:
            raise DBOSException("No DBOS was created yet")
        raise DBOSException("System database accessed before DBOS was launched")
    return _runtime


def runtime_for_call(name: str) -> Runtime:
    """The runtime for a call of the decorated function ``name`` (DBOS's error when no
    ``DBOS`` exists yet)."""
    if _runtime is None and not _configured:
        raise DBOSException(f"Function {name} invoked before DBOS initialized")
    return runtime()


def not_a_workflow(func: object) -> DBOSWorkflowFunctionNotFoundError:
    """DBOS's error for starting or enqueueing a function that is not a workflow."""
    name = getattr(func, "__name__", repr(func))
    return DBOSWorkflowFunctionNotFoundError(
        "<NONE>", f"{name} is not a registered workflow function"
    )


def runtime_or_none() -> Runtime | None:
    """The launched runtime, or None."""
    return _runtime


def set_runtime(value: Runtime | None) -> None:
    """Install (launch) or remove (destroy) the runtime."""
    global _runtime
    _runtime = value


def set_configured(value: bool) -> None:
    """Record whether a ``DBOS(config=...)`` exists (for the error before launch)."""
    global _configured
    _configured = value
