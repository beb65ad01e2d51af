"""What group commit and batching need from the backend, so they need not import it.

``group_commit.py`` and ``batching.py`` write many callers' statements on one connection
they check out themselves; ``Backend`` runs them and satisfies :class:`WriteConnections`.
A :class:`Write` is one caller's statement waiting for (then holding) its outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Engine

from transact._store.sql.engine.errors import Phase

__all__ = ["Write", "WriteConnections"]


class Write:
    """One caller's statement, and once ``done``, its outcome (``rowcount`` or
    ``error``, to raise in the caller's thread)."""

    __slots__ = (
        "args",
        "done",
        "error",
        "in_doubt",
        "on_error",
        "raw",
        "rowcount",
        "settle",
        "wake",
    )

    def __init__(
        self, raw: Any, args: Any, on_error: Any, settle: Callable[[], int] | None = None
    ) -> None:
        self.raw = raw
        self.args = args
        self.on_error = on_error
        # Whether the row of a write in doubt is its own (1) or not (0): asked before the
        # write runs again alone (see ``Backend.execute_one``).
        self.settle = settle
        self.done = False
        self.rowcount = 0
        self.error: BaseException | None = None
        # A batch that held it lost its connection: it may be written already.
        self.in_doubt = False
        # Set when the write is done, or when its thread is to lead the next batch;
        # only a thread that had to queue needs one.
        self.wake: threading.Event | None = None

    def outcome(self) -> int:
        """The rowcount, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.rowcount


class WriteConnections(Protocol):
    """The backend as the writers of batches see it (``Backend`` implements it)."""

    engine: Engine
    """The engine whose pool the batches' connections come from."""

    @property
    def dbapi_error(self) -> type[Exception]:
        """The driver's base exception class."""
        ...

    def checkout_writer(self) -> Any:
        """A pooled connection for a write transaction."""
        ...

    def checkin(self, fairy: Any, *, failed: bool = False) -> None:
        """Give back a connection from :meth:`checkout_writer`."""
        ...

    def error_of(self, exc: Exception, write: Write, fairy: Any, phase: Phase) -> BaseException:
        """The error ``write``'s caller gets for driver error ``exc``."""
        ...
