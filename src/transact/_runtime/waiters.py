"""In-process wake-ups: writers wake waiters directly, so no waiter busy-polls.

A waiter registers an event under a key (``status:<wf>``, ``message:<wf>::<topic>``,
...) *before* it checks the store, so a write that lands between the check and the
wait still wakes it. Other processes' writes arrive through the store's notifications
(Postgres LISTEN, SQLite's change log), and the waiter's rare re-check catches any missed.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from transact._runtime.clock import Clock
from transact._runtime.parking import Signal, poll_interval

T = TypeVar("T")


def status_key(workflow_id: str) -> str:
    """Key woken when a workflow's status changes."""
    return f"status:{workflow_id}"


def message_key(workflow_id: str, topic: str | None) -> str:
    """Key woken when a message for (workflow, topic) arrives."""
    return f"message:{workflow_id}::{topic or ''}"


def event_key(workflow_id: str, key: str) -> str:
    """Key woken when an event of a workflow is set."""
    return f"event:{workflow_id}::{key}"


def stream_key(workflow_id: str, key: str) -> str:
    """Key woken when a stream of a workflow is written."""
    return f"stream:{workflow_id}::{key}"


class Waiters:
    """Events keyed by what a waiter waits for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: defaultdict[str, set[threading.Event]] = defaultdict(set)

    @contextmanager
    def registered(self, *keys: str) -> Iterator[threading.Event]:
        """Register one event under every key for the duration of the block."""
        event = Signal()  # a parked waiter resumes when it is set
        with self._lock:
            for key in keys:
                self._events[key].add(event)
        try:
            yield event
        finally:
            with self._lock:
                for key in keys:
                    waiting = self._events.get(key)
                    if waiting is not None:
                        waiting.discard(event)
                        if not waiting:
                            del self._events[key]

    def notify(self, key: str) -> None:
        """Wake every waiter registered under ``key``."""
        # Most writes have nobody waiting: answered without the lock. A waiter that
        # registers just after this look reads the store after registering, and finds
        # the write (it committed before this call).
        if key not in self._events:
            return
        with self._lock:
            waiting = list(self._events.get(key, ()))
        woke = False
        for event in waiting:
            if not event.is_set():  # a set event's thread is awake already
                event.set()
                woke = True
        if woke:
            # Hand the GIL to a woken thread now: it would otherwise wait until this
            # thread next blocks or its switch interval (5 ms) ends (SQLite send->recv
            # median -5%, p90 -10%). Only for a thread really woken: a queue runner
            # that a burst of enqueues already woke costs the enqueuer nothing more.
            time.sleep(0)

    def notify_all(self) -> None:
        """Wake every waiter (shutdown, or a listener that lost notifications)."""
        with self._lock:
            waiting = [e for events in self._events.values() for e in events]
        for event in waiting:
            event.set()

    def wait_for(
        self,
        key: str | Sequence[str],
        check: Callable[[], T | None],
        *,
        clock: Clock,
        deadline: float | None,
        poll_seconds: float,
        interrupt: threading.Event | None = None,
    ) -> T | None:
        """Return ``check()``'s first non-None value, or None once ``deadline`` passes.

        Re-checks when woken under ``key`` (or any of several keys), and at least every
        ``poll_seconds`` (for writes by other processes that nobody pushes to us).
        ``interrupt`` (set on cancellation or shutdown) ends the wait early with None.
        """
        keys = (key,) if isinstance(key, str) else tuple(key)
        with self.registered(*keys) as event:
            found = check()
            if found is not None:
                return found
            return wait_registered(
                event,
                check,
                clock=clock,
                deadline=deadline,
                poll_seconds=poll_seconds,
                interrupt=interrupt,
            )


def wait_registered(
    event: threading.Event,
    check: Callable[[], T | None],
    *,
    clock: Clock,
    deadline: float | None,
    poll_seconds: float,
    interrupt: threading.Event | None = None,
    ready: Callable[[], bool] | None = None,
) -> T | None:
    """Wait on ``event`` (from :meth:`Waiters.registered`), then as ``Waiters.wait_for``.

    The caller has checked once already, after registering. ``check`` runs after each
    wake-up; with ``ready``, a cheap test (a read where ``check`` writes), a wake-up
    that is only the ``poll_seconds`` timeout runs ``check`` only if ``ready()`` says
    it would find something. A wake-up through ``event`` runs ``check`` at once: a
    writer in this process, or a notification, said there is something.
    """
    # An interrupt (cancellation, shutdown) wakes the wait at once, not at its next poll.
    stop = event.set
    if isinstance(interrupt, Signal):
        interrupt.add_waker(stop)
    try:
        return _wait_loop(event, check, clock, deadline, poll_seconds, interrupt, ready)
    finally:
        if isinstance(interrupt, Signal):
            interrupt.discard_waker(stop)


def _wait_loop(
    event: threading.Event,
    check: Callable[[], T | None],
    clock: Clock,
    deadline: float | None,
    poll_seconds: float,
    interrupt: threading.Event | None,
    ready: Callable[[], bool] | None,
) -> T | None:
    while True:
        if interrupt is not None and interrupt.is_set():
            return None
        timeout = poll_interval(poll_seconds)
        if deadline is not None:
            remaining = deadline - clock.now()
            if remaining <= 0:
                return None
            timeout = min(timeout, remaining)
        clock.wait(event, timeout)
        # Read and cleared before ``check``: a write committed after the clear sets the
        # event again, and one committed before it is seen by ``check`` or ``ready``.
        woken = event.is_set()
        event.clear()
        if woken or ready is None or ready():
            found = check()
            if found is not None:
                return found
