"""What performing an effect needs, and nothing more: the leaf every handler reads.

An ``Env`` is built once per launched runtime and shared by all its workflows. It holds
no threads and knows nothing of the ``Runtime`` that owns it, so handlers (and their
tests) need only an ``Env`` and a ``Host`` (see ``state.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Effect
from transact._runtime.appdb import AppDatabase
from transact._runtime.clock import Clock
from transact._runtime.waiters import Waiters
from transact._serialization import Serializer
from transact._store.protocol import Store
from transact._telemetry.hook import NO_TRACING, Tracing
from transact._telemetry.metrics import Metrics


@attrs.frozen
class Performer:
    """How one effect type is performed: ``execute(state, function_id, effect)`` runs it
    and records its checkpoint; ``replay(state, function_id, checkpoint, effect)``, if
    given, replaces the default replay of a recorded outcome (``replay_outcome``).

    The state is typed ``Any`` here because the env must not know ``WorkflowState``
    (which holds an env); ``performers.py`` builds the table with typed functions.
    """

    execute: Callable[[Any, int, Any], Any]
    replay: Callable[[Any, int, Checkpoint, Any], Any] | None = None


# The immutable table from effect type to its performer (see ``performers.py``).
Performers = Mapping[type[Effect[Any]], Performer]


@attrs.define(eq=False)
class Env:
    """The store, serializer, clock, waiters and performers of one runtime, with its
    settings."""

    store: Store
    serializer: Serializer
    clock: Clock
    # Handed in by whoever builds the env (the Runtime passes ``performers.PERFORMERS``).
    performers: Performers
    waiters: Waiters = attrs.field(factory=Waiters)
    executor_id: str = "local"
    application_version: str = ""
    # How often a wait re-checks the store for writes no notification announces.
    poll_seconds: float = 0.1
    app_db: AppDatabase | None = None  # the application database of @DBOS.transaction
    # Set at shutdown: from then on no workflow writes (it stays PENDING for recovery).
    closing: bool = False
    # Telemetry hooks (``transact._telemetry``): spans (a no-op unless tracing is on)
    # and the in-process counters of ``/metrics``.
    tracing: Tracing = NO_TRACING
    metrics: Metrics = attrs.field(factory=Metrics)
    # Set by the ``strict_determinism`` config key: an operation replayed with other
    # arguments than recorded raises ``NondeterminismError`` instead of warning.
    strict_determinism: bool = False
