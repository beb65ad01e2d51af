"""Postgres: a claim that finds a backlog its plan did not expect refreshes the table's
statistics.

The planner picks a claim's plan from ``workflow_status``'s statistics. Autovacuum
analyzes the table again only after a tenth of its rows changed: a burst of enqueues
into a table of past workflows is then invisible to the planner, which expects a few
waiting rows and reads and sorts the whole backlog at every claim instead of reading the
first rows of the waiting index (37 ms a claim with 100,000 enqueued, instead of 1 ms;
on a table of ten million rows this would last until a million more had changed).

So a claim that took long *and* filled its batch (there is a backlog) runs ``ANALYZE``
on the table, in a thread of its own, at most once every ``EVERY_SECONDS`` per process
(autovacuum's own default pace), and only if 1,000 rows or more changed since the
table's last ANALYZE (``QueueVerbs._analyze_workflows``; when fewer are reported, a slow
claim ``RETRY_SECONDS`` later may look again). ANALYZE reads a fixed sample
(30,000 rows), takes a lock that blocks no reads or writes, and invalidates every
session's cached plans, so each connection plans the claim again from the new
statistics. A user who may not analyze the table gets a warning from Postgres and
nothing else changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["EVERY_SECONDS", "RETRY_SECONDS", "SLOW_SECONDS", "StaleStatistics"]

logger = logging.getLogger("dbos")

SLOW_SECONDS = 0.005
"""A claim this slow is suspect (a claim of a batch takes about 1 ms)."""
EVERY_SECONDS = 60.0
RETRY_SECONDS = 5.0
"""After a check that found too few changed rows to analyze: the statistics views report
a burst a second or so late, so a claim this much later may look again."""


class StaleStatistics:
    """Runs ``analyze`` (in a thread) after a slow claim that filled its batch;
    ``analyze`` says whether it analyzed (or found the statistics current)."""

    def __init__(
        self, analyze: Callable[[], bool], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._analyze = analyze
        self._clock = clock
        self._lock = threading.Lock()
        self._last = -EVERY_SECONDS
        self.thread: threading.Thread | None = None
        """The latest ANALYZE's thread (tests join it)."""

    def claimed(self, seconds: float, *, full: bool) -> None:
        """A claim took ``seconds``; ``full``: it took as many rows as it asked for."""
        if seconds < SLOW_SECONDS or not full:
            return
        now = self._clock()
        with self._lock:
            if now - self._last < EVERY_SECONDS:
                return
            self._last = now
            self.thread = threading.Thread(target=self._run, name="transact-analyze", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            analyzed = self._analyze()
        except Exception:  # the statistics stay as they were; autovacuum catches up
            logger.debug("ANALYZE after a slow queue claim failed", exc_info=True)
            return
        if not analyzed:  # too few changes reported yet: the next slow claim looks again
            with self._lock:
                self._last = min(self._last, self._clock() - EVERY_SECONDS + RETRY_SECONDS)
