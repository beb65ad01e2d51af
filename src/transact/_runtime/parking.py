"""Parking: a workflow waiting durably gives its thread back until it can go on.

Every background workflow body runs in a greenlet of its own (a :class:`Job`) on a
runner thread (a :class:`Hub`, see ``runner_pool.py``). When that body waits on a
:class:`Signal` (``recv``, ``get_event``, ``sleep``, ``get_result``, ``read_stream``,
a step's retry back-off: every wait goes through ``SystemClock.wait``) for longer than
:data:`PARK_AFTER_SECONDS`, :func:`wait` *parks* the greenlet: it registers a waker
on the signal and, if the wait has a timeout, a timer in the :class:`Alarm`, then
switches back to its hub, whose thread is free to run other workflows. The waker (the
signal being set, or the timer) hands the greenlet back to its hub, which resumes it
where it stopped; the wait returns as ``Event.wait`` would have.

A greenlet can only ever run on the thread that created it, so a parked workflow
resumes on its own hub: while that hub runs another workflow's code (a long step), the
woken one waits its turn until that code finishes or itself waits durably. Waits
outside a hub's greenlet (a workflow called directly by the application, a
``start_workflow`` caller, the queue runner), on a plain ``threading.Event``, or
inside a running event loop (an ``async`` workflow started from a thread) block their
thread as before.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from greenlet import getcurrent, greenlet

__all__ = ["PARK_AFTER_SECONDS", "Hub", "Job", "Signal", "wait", "wait_future"]

T = TypeVar("T")

PARK_AFTER_SECONDS = 0.002
"""A wait this short keeps its thread: a quick ``send``/``recv`` exchange then wakes
without a hand-over. Shorter than the dispatcher's stall tick (5 ms), so runners in
their grace do not look held up and make it start more threads."""

POLLS_PER_SECOND = 1000
"""How many timed re-checks per second the parked waits of a process make at most, in
all: ``poll_seconds`` grows with their number (see :func:`poll_interval`)."""

_wakers_lock = threading.Lock()
_parked = 0  # parked jobs in this process (updated under ``_wakers_lock``)


def poll_interval(poll_seconds: float) -> float:
    """The re-check interval of a wait that polls every ``poll_seconds``: longer with
    many parked waits, so N waiters cost a bounded number of store reads per second
    rather than N / ``poll_seconds`` (writes in this process and pushed notifications
    still wake a waiter at once; only other processes' unpushed writes wait longer)."""
    return max(poll_seconds, _parked / POLLS_PER_SECOND)


class Signal(threading.Event):
    """A ``threading.Event`` that can also call wakers when set (to resume parked waits)."""

    def __init__(self) -> None:
        super().__init__()
        self._wakers: list[Callable[[], None]] = []

    def set(self) -> None:
        """Set the flag, wake threads waiting on it, and call (then drop) every waker."""
        super().set()
        if not self._wakers:  # the common case, read without the lock: nobody parked
            return
        with _wakers_lock:
            wakers, self._wakers = self._wakers, []
        for waker in wakers:
            waker()

    def add_waker(self, waker: Callable[[], None]) -> None:
        """Call ``waker`` once this is set (at once if it is set already)."""
        with _wakers_lock:
            self._wakers.append(waker)
        if self.is_set():  # set before the append: ``set`` may not have seen the waker
            waker()

    def discard_waker(self, waker: Callable[[], None]) -> None:
        """Forget ``waker`` (a long-lived signal, such as a workflow's ``cancelled``)."""
        # ValueError: called already (set), or never added.
        with _wakers_lock, contextlib.suppress(ValueError):
            self._wakers.remove(waker)


class Hub:
    """A runner thread's scheduling state: its parked greenlets and the woken ones."""

    def __init__(self, lock: threading.Lock) -> None:
        self.main = getcurrent()
        self.ready: collections.deque[Job] = collections.deque()
        self.parked = 0
        self.wake_up = threading.Condition(lock)  # the dispatcher's lock

    def resume(self, job: Job) -> None:
        """Queue ``job`` to run again on this hub (from any thread)."""
        with self.wake_up:
            self.ready.append(job)
            self.wake_up.notify()


class Job(greenlet):
    """One background workflow run, as a greenlet of its hub."""

    def __init__(self, run: Callable[[], None], hub: Hub) -> None:
        super().__init__(run, hub.main)
        self.hub = hub
        # Set when a park ended by its timeout: the wait is a poll loop (writes by other
        # processes that nobody pushes), whose next rounds park at once, with no grace.
        self.polling = False

    def park(self, signal: Signal, timeout: float | None) -> bool:
        """Switch to the hub until ``signal`` is set or ``timeout`` passes."""
        fired = False
        lock = threading.Lock()

        def wake() -> None:
            nonlocal fired
            with lock:
                if fired:
                    return
                fired = True
            self.hub.resume(self)

        global _parked
        signal.add_waker(wake)
        timer = ALARM.call_later(timeout, wake) if timeout is not None else None
        with _wakers_lock:
            _parked += 1
        try:
            self.hub.main.switch()
        finally:
            with _wakers_lock:
                _parked -= 1
            signal.discard_waker(wake)
            if timer is not None:
                ALARM.cancel(timer)
        woken = signal.is_set()
        self.polling = not woken
        return woken


def wait(event: threading.Event, timeout: float | None) -> bool:
    """``event.wait(timeout)``, parking the calling workflow past the grace period."""
    current = getcurrent()
    if (
        not isinstance(current, Job)
        or not isinstance(event, Signal)
        or asyncio._get_running_loop() is not None  # the loop is the thread's, not ours
    ):
        return event.wait(timeout)
    if timeout is not None and timeout <= 0:
        return event.is_set()
    grace = 0.0 if current.polling else PARK_AFTER_SECONDS
    if timeout is not None:
        grace = min(timeout, grace)
    if grace > 0 and (event.wait(grace) or (timeout is not None and timeout <= grace)):
        return event.is_set()
    return current.park(event, None if timeout is None else timeout - grace)


def wait_future(future: Future[T]) -> T:
    """``future.result()``, parking the calling workflow while it is not done."""
    if not future.done() and isinstance(getcurrent(), Job):
        done = Signal()
        future.add_done_callback(lambda _: done.set())
        wait(done, None)
    return future.result()


class Alarm:
    """One thread calling wakers at their deadlines (parked waits with a timeout)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, list[Any]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def call_later(self, seconds: float, waker: Callable[[], None]) -> list[Any]:
        """Call ``waker`` in ``seconds``; returns a handle for :meth:`cancel`."""
        entry: list[Any] = [waker]
        when = time.monotonic() + seconds
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), entry))
            if self._heap[0][2] is entry:
                self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="transact-alarm", daemon=True
                )
                self._thread.start()
        return entry

    def cancel(self, entry: list[Any]) -> None:
        """Drop a timer (it stays in the heap, emptied, until its time comes)."""
        entry[0] = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                _, _, entry = heapq.heappop(self._heap)
            waker = entry[0]
            if waker is not None:
                waker()


ALARM = Alarm()
"""The process's timers for parked waits."""
