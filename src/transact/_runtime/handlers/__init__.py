"""One module per family of effects; importing the package registers every handler."""

from transact._runtime.handlers import (
    calls,
    children,
    events,
    messages,
    sleep,
    steps,
    streams,
    transactions,
)

__all__ = ["calls", "children", "events", "messages", "sleep", "steps", "streams", "transactions"]
