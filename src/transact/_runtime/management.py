"""The runtime side of workflow management: fork, delete, and the watchdog.

``fork`` and ``delete`` are operator verbs on top of the store's ``fork_workflow`` and
``delete_workflows``. The :class:`Watchdog` is one background thread per runtime that
cancels workflows past their deadline (so a workflow blocked in a durable sleep or a
wait is stopped on time, not at its next effect) and notices cancels and deletes made by
other processes that no notification brought us. It never touches the per-step path: a
step stays one write.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from transact._core.status import WorkflowStatusString as S
from transact._runtime.clock import Clock, SystemClock, now_ms
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import REGISTRY
from transact._runtime.state import WorkflowState
from transact._runtime.waiters import status_key
from transact._store.records import WorkflowQuery, WorkflowRecord
from transact.errors import DBOSException, DBOSNonExistentWorkflowError

if TYPE_CHECKING:
    from transact._runtime.runtime import Runtime

logger = logging.getLogger("transact")

# Real seconds between deadline checks when the clock is not the system clock: a fake
# clock's time jumps whenever some thread waits, so the watchdog cannot sleep until the
# deadline in real time; it looks again this often instead.
FAKE_CLOCK_SLICE = 0.01
# With the system clock the watchdog sleeps until the next deadline, but never longer
# than this, so a wall-clock jump (NTP) delays a timeout by at most this much.
MAX_SLEEP = 60.0


# --- fork ------------------------------------------------------------------------------


def validate_start_step(start_step: object) -> int:
    """``start_step`` as a function id (an int of at least 1); ``ValueError`` otherwise."""
    if isinstance(start_step, bool) or not isinstance(start_step, int):
        raise ValueError(f"start_step must be an int, got {start_step!r}")
    if start_step < 1:
        raise ValueError(f"start_step must be at least 1 (the first step), got {start_step}")
    return start_step


def fork(
    runtime: Runtime,
    original_id: str,
    start_step: int,
    *,
    new_id: str | None,
    application_version: str | None,
    timeout_seconds: float | None,
) -> tuple[str, Future[Any] | None]:
    """Fork ``original_id`` at ``start_step``; return the fork's id and, if it runs here,
    its future.

    The fork gets a copy of the original's checkpoints, event history and stream entries
    below ``start_step`` and is enqueued on the internal queue; this process claims and
    runs it at once when it can (the workflow is registered here and
    ``application_version`` is None or this executor's). Otherwise it stays ENQUEUED for
    an executor of that version.

    Raises ``DBOSNonExistentWorkflowError`` for an unknown original, ``ValueError`` if
    ``start_step`` is below 1 or past the end of the original's log (more than its last
    function id + 1), ``DBOSConflictingWorkflowError`` if ``new_id`` is taken.
    """
    validate_start_step(start_step)
    store = runtime.store
    original = store.get_workflow(original_id, load_output=False)
    if original is None:
        raise DBOSNonExistentWorkflowError("Workflow", original_id)
    checkpoints = store.load_checkpoints(original_id)
    last = checkpoints[-1].function_id if checkpoints else 0
    if start_step > last + 1:
        # Past the end there is nothing to re-run, and the gap would be a position the
        # fork could never have reached: almost surely a mistake, so refuse it.
        raise ValueError(
            f"start_step {start_step} is past the end of workflow {original_id}: its last "
            f"recorded step is {last}, so start_step must be between 1 and {last + 1}"
        )
    fork_id = new_id or str(uuid.uuid4())
    now = now_ms(runtime.clock)
    record = WorkflowRecord(
        workflow_id=fork_id,
        status=S.ENQUEUED.value,
        name=original.name,
        inputs=original.inputs,
        serialization=original.serialization,
        class_name=original.class_name,
        config_name=original.config_name,
        application_version=application_version,
        application_id=original.application_id,
        authenticated_user=original.authenticated_user,
        assumed_role=original.assumed_role,
        authenticated_roles=original.authenticated_roles,
        created_at=now,
        updated_at=now,
        queue_name=INTERNAL_QUEUE,
        workflow_timeout_ms=(int(timeout_seconds * 1000) if timeout_seconds is not None else None),
        forked_from=original_id,
    )
    store.fork_workflow(original_id, record, start_step)
    runnable = REGISTRY.workflow(original.name) is not None and application_version in (
        None,
        runtime.application_version,
    )
    if not runnable:
        return fork_id, None
    claimed = store.claim_workflow(
        fork_id, runtime.executor_id, runtime.application_version, now_ms(runtime.clock)
    )
    if claimed is None:  # another executor's queue runner was quicker
        return fork_id, None
    return fork_id, runtime.dispatch(claimed)


# --- delete ----------------------------------------------------------------------------


def delete(runtime: Runtime, workflow_id: str, *, delete_children: bool) -> list[str]:
    """Delete the workflow (and with ``delete_children`` its descendants) with their
    checkpoints, messages, events and streams; return the ids deleted.

    Executions of them in this process stop at their next effect (or at once if they
    wait); in other processes at their next write or the watchdog's next look.
    Raises ``DBOSNonExistentWorkflowError`` for an unknown id, writing nothing.
    """
    store = runtime.store
    if store.get_workflow(workflow_id, load_input=False, load_output=False) is None:
        raise DBOSNonExistentWorkflowError("Workflow", workflow_id)
    doomed = [workflow_id]
    if delete_children:
        doomed += store.descendants([workflow_id])
    # Cancel first: a status change is pushed to other processes (Postgres NOTIFY) and a
    # delete is not, so executors elsewhere stop their runs at once instead of at their
    # next write. A crash between the two leaves the active ones CANCELLED, not deleted.
    store.cancel_workflows(doomed, now_ms(runtime.clock))
    store.delete_workflows(doomed)
    for doomed_id in doomed:
        runtime.interrupt(doomed_id)
        runtime.waiters.notify(status_key(doomed_id))
    return doomed


# --- the watchdog ----------------------------------------------------------------------


class Watchdog:
    """Cancels workflows of this process at their deadline; polls for outside changes.

    Deadlines: every launched execution with a deadline is watched until it ends; when
    the deadline passes the workflow is cancelled (status CANCELLED, execution
    interrupted, waiters woken), even while it sleeps or waits.

    Outside changes: every ``poll_seconds`` while this process runs workflows, one query
    reads their statuses; a CANCELLED or deleted one is interrupted. That is how a
    SQLite process notices a cancel from another process during a long sleep or wait;
    on Postgres, notifications do it at once and this is a safety net.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        clock: Clock,
        poll_seconds: float,
    ) -> None:
        self._runtime = runtime
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
                    self._guard(self._runtime.cancel_for_timeout, state)
            if polled:
                self._guard(self._poll, polled)
            if now >= next_poll:
                next_poll = self._clock.now() + self._poll_seconds
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
        rows = self._runtime.store.list_workflows(
            WorkflowQuery(workflow_ids=ids, load_input=False, load_output=False)
        )
        status = {row.workflow_id: row.status for row in rows}
        stopped = [
            state
            for state in states
            if status.get(state.workflow_id, S.CANCELLED.value) == S.CANCELLED.value
        ]
        for state in stopped:
            state.cancelled.set()
        if stopped:
            self._runtime.waiters.notify_all()  # wake those waiting on a message, event, ...

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
