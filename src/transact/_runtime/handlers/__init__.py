"""One module per family of effects; importing the package registers every handler."""

from transact._runtime.handlers import (
    bulk_messages,
    children,
    events,
    messages,
    operations,
    queries,
    sleep,
    steps,
    streams,
    transactions,
)

__all__ = [
    "bulk_messages",
    "children",
    "events",
    "messages",
    "operations",
    "queries",
    "sleep",
    "steps",
    "streams",
    "transactions",
]
