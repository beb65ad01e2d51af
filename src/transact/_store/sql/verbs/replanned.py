"""Statements whose cached Postgres plan can go stale as a table grows: a slow run of one
makes every connection plan it afresh.

psycopg prepares a statement on a connection after a few runs, and Postgres then keeps
one generic plan for it, made for the table as it was, until an ANALYZE of the table
(autovacuum's, within a minute or two of a burst) invalidates it. A queue claim prepared
while its queue was empty keeps a plan that reads every waiting row and sorts them: with
100,000 enqueued in one burst, 37 ms a claim instead of 1 ms, until that ANALYZE.

``Replanned`` hands out each statement under a *generation* written into its text as a
comment. A run that took longer than ``SLOW_SECONDS`` starts the next generation (at
most one every ``EVERY_SECONDS``): the new text is a statement no connection has
prepared, so each plans it again for the table as it is now (its first runs with the
values given, then a generic plan of the current size). A false alarm (a claim slowed by
a busy machine) costs a few plannings. Generations cycle through ``GENERATIONS`` texts,
so memory stays bounded: a text comes back after at least ``GENERATIONS *
EVERY_SECONDS`` (over ten minutes), long after autovacuum has analyzed a table that grew.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["EVERY_SECONDS", "GENERATIONS", "SLOW_SECONDS", "Replanned"]

K = TypeVar("K", bound=Hashable)

SLOW_SECONDS = 0.005
"""A run this slow starts a new generation (a claim takes about 1 ms)."""
EVERY_SECONDS = 10.0
GENERATIONS = 64


class Replanned(Generic[K]):
    """``statements`` (UPDATE statements, keyed) under the current generation;
    ``clock``: seconds, for the interval between generations."""

    def __init__(
        self, statements: Mapping[K, Any], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._statements = statements
        self._clock = clock
        self._generation = 0
        # Every variant is kept: the raw paths cache compiled SQL by the statement's id,
        # which a collected variant's successor could reuse.
        self._variants: dict[tuple[K, int], Any] = {}
        self._started_at = -EVERY_SECONDS
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        """The current generation (0: the statements as given)."""
        return self._generation

    def __getitem__(self, key: K) -> Any:
        generation = self._generation
        if generation == 0:
            return self._statements[key]
        variant = self._variants.get((key, generation))
        if variant is None:
            comment = f"/* plan {generation} */"
            variant = self._statements[key].prefix_with(comment)
            self._variants[(key, generation)] = variant
        return variant

    def took(self, seconds: float) -> None:
        """A run took ``seconds``: if that is slow, start the next generation (unless one
        started less than ``EVERY_SECONDS`` ago)."""
        if seconds < SLOW_SECONDS:
            return
        now = self._clock()
        with self._lock:
            if now - self._started_at < EVERY_SECONDS:
                return
            self._started_at = now
            self._generation = self._generation % GENERATIONS + 1
