"""What performing an effect needs, and nothing more: the leaf every handler reads.

An ``Env`` is built once per launched runtime and shared by all its workflows. It holds
no threads and knows nothing of the ``Runtime`` that owns it, so handlers (and their
tests) need only an ``Env`` and a ``Host`` (see ``state.py``).
"""

from __future__ import annotations

import attrs

from transact._runtime.appdb import AppDatabase
from transact._runtime.clock import Clock
from transact._runtime.waiters import Waiters
from transact._serialization import Serializer
from transact._store.protocol import Store


@attrs.define(eq=False)
class Env:
    """The store, serializer, clock and waiters of one runtime, with its settings."""

    store: Store
    serializer: Serializer
    clock: Clock
    waiters: Waiters = attrs.field(factory=Waiters)
    executor_id: str = "local"
    application_version: str = ""
    # How often a wait re-checks the store for writes no notification announces.
    poll_seconds: float = 0.1
    app_db: AppDatabase | None = None  # the application database of @DBOS.transaction
    # Set at shutdown: from then on no workflow writes (it stays PENDING for recovery).
    closing: bool = False
