"""The watchdog: one background thread per runtime that cancels workflows past their
deadline (so a workflow blocked in a durable sleep or a wait is stopped on time, not at
its next effect) and notices cancels and deletes made by other processes that no
notification brought us. It never touches the per-step path: a step stays one write.

It knows the store, the waiters and one callable (cancel on timeout), not the runtime.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from transact._core.status import WorkflowStatusString as S
from transact._runtime.clock import Clock, SystemClock
from transact._runtime.state import WorkflowState
from transact._runtime.waiters import Waiters
from transact._store.protocol import Store
from transact._store.records import WorkflowQuery
from transact.errors import DBOSException

logger = logging.getLogger("dbos")

# Real seconds between deadline checks when the clock is not the system clock: a fake
# clock's time jumps whenever some thread waits, so the watchdog cannot sleep until the
# deadline in real time; it looks again this often instead.
FAKE_CLOCK_SLICE = 0.01
# With the system clock the watchdog sleeps until the next deadline, but never longer
# than this, so a wall-clock jump (NTP) delays a timeout by at most this much.
MAX_SLEEP = 60.0
# Cancels and deletes by other processes are found by counting the watched rows by status.
POLL_CHUNK = 10_000  # ids per statement
ROWS_PER_SECOND = 50_000  # at most, on average: the rounds spread out beyond that


class Watchdog:
    """Cancels workflows of this process at their deadline; polls for outside changes.

    Deadlines: every launched execution with a deadline is watched until it ends; when
    the deadline passes the workflow is cancelled (status CANCELLED, execution
    interrupted, waiters woken), even while it sleeps or waits.

    Outside changes: every ``poll_seconds`` while this process runs workflows, one query
    reads their statuses; a CANCELLED or deleted one is interrupted. Notifications
    (Postgres, SQLite) deliver a cancel from another process at once, so this is a
    safety net there, and how a deletion by another process is noticed.
    """

    def __init__(
        self,
        store: Store,
        waiters: Waiters,
        cancel_for_timeout: Callable[[WorkflowState], None],
        *,
        clock: Clock,
        poll_seconds: float,
    ) -> None:
        self._store = store
        self._waiters = waiters
        self._cancel_for_timeout = cancel_for_timeout
        self._clock = clock
        self._exact = isinstance(clock, SystemClock)
        self._poll_seconds = poll_seconds
        self._cond = threading.Condition()
        self._deadlines: dict[WorkflowState, float] = {}
        # Executions, not ids: a workflow resumed while its cancelled run still finishes
        # a step has two, and only the stale one may be interrupted.
        self._states: set[WorkflowState] = set()
        self._thread: threading.Thread | None = None
        self._stopped = False
        # While the thread waits: the clock time it waits towards (None: until woken).
        self._asleep = False
        self._wake_at: float | None = None

    def watch(self, state: WorkflowState) -> None:
        """An execution starts: watch its deadline (if any) and its status."""
        with self._cond:
            if self._stopped:
                return
            self._states.add(state)
            if state.deadline is not None:
                self._deadlines[state] = state.deadline
            if self._thread is None:
                # Started lazily: a process that never runs a workflow needs no thread.
                self._thread = threading.Thread(
                    target=self._loop, name="transact-watchdog", daemon=True
                )
                self._thread.start()
            elif self._asleep and (
                self._wake_at is None
                or (state.deadline is not None and state.deadline < self._wake_at)
            ):
                # Only when the thread would wake too late: waking it for every start
                # cost a thread switch per workflow. Awake, it sees the new state before
                # it next sleeps (it reads them under this lock).
                self._cond.notify()

    def unwatch(self, state: WorkflowState) -> None:
        """An execution ended: stop watching it."""
        with self._cond:
            self._states.discard(state)
            self._deadlines.pop(state, None)

    def stop(self) -> None:
        """End the thread (at shutdown); waits briefly for it."""
        with self._cond:
            self._stopped = True
            self._deadlines.clear()
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _loop(self) -> None:
        next_poll = self._clock.now() + self._poll_seconds
        while True:
            with self._cond:
                if self._stopped:
                    return
                now = self._clock.now()
                expired = [s for s, d in self._deadlines.items() if d <= now]
                for state in expired:
                    del self._deadlines[state]
                polled = list(self._states) if now >= next_poll else []
            for state in expired:
                # A run already stopping (cancelled, or replaced by a resume) must not
                # cancel the workflow again: the resumed run has its own deadline.
                if not state.cancelled.is_set():
                    self._guard(self._cancel_for_timeout, state)
            if polled:
                self._guard(self._poll, polled)
            if now >= next_poll:
                # Each round looks up every watched row: with many, rounds are spaced so
                # the watchdog reads at most ROWS_PER_SECOND rows a second.
                spacing = max(self._poll_seconds, len(polled) / ROWS_PER_SECOND)
                next_poll = self._clock.now() + spacing
            with self._cond:  # one hold: a watch() between the check and the wait wakes it
                timeout = self._sleep_time(next_poll)
                self._asleep = True
                self._cond.wait(timeout)
                self._asleep = False

    def _sleep_time(self, next_poll: float) -> float | None:
        """Real seconds to sleep (None: until woken); called under the lock."""
        if self._stopped:
            return 0.0
        now = self._clock.now()
        wake_at: float | None = min(self._deadlines.values(), default=None)
        if self._states:
            wake_at = next_poll if wake_at is None else min(wake_at, next_poll)
        self._wake_at = wake_at
        if wake_at is None:
            return None
        remaining = max(wake_at - now, 0.0)
        return min(remaining, MAX_SLEEP if self._exact else FAKE_CLOCK_SLICE)

    def _poll(self, states: list[WorkflowState]) -> None:
        """Interrupt the executions (taken before the query) whose workflow is now
        CANCELLED or deleted."""
        ids = tuple({state.workflow_id for state in states})
        gone: set[str] = set()  # CANCELLED or deleted
        # In chunks: a statement takes at most 65,535 parameters (Postgres), and with
        # 100,000 waiting workflows one IN list would never run. Each chunk is counted
        # first, which returns a row per status, not per workflow: reading every row
        # cost 10-20 µs of CPU each, so with 100,000 waiting the rounds took a quarter
        # of a core from the running workflows. Only a chunk that holds a cancelled or
        # deleted row (rare) is read row by row.
        for start in range(0, len(ids), POLL_CHUNK):
            chunk = ids[start : start + POLL_CHUNK]
            counts = self._store.count_workflows(WorkflowQuery(workflow_ids=chunk))
            if sum(counts.values()) - counts.get(S.CANCELLED.value, 0) == len(chunk):
                continue
            rows = self._store.list_workflows(
                WorkflowQuery(workflow_ids=chunk, load_input=False, load_output=False)
            )
            alive = {row.workflow_id for row in rows if row.status != S.CANCELLED.value}
            gone.update(w for w in chunk if w not in alive)
        stopped = [state for state in states if state.workflow_id in gone] if gone else []
        for state in stopped:
            state.cancelled.set()
        if stopped:
            self._waiters.notify_all()  # wake those waiting on a message, event, ...

    @staticmethod
    def _guard(func: Callable[..., Any], *args: Any) -> None:
        # A failing store (a dropped connection) must not kill the thread: the next round
        # tries again, and the workflow itself still stops at its next write.
        try:
            func(*args)
        except DBOSException as exc:
            logger.warning("watchdog: %s", exc)
        except Exception:
            logger.exception("watchdog: unexpected error")
