"""Publishing keys to other processes, coalesced: at most once per gap, never the last one lost.

A notification wakes every listening process, so one per event (an enqueue, a stream
write) can cost more than the event itself. A :class:`CoalescedPublisher` batches them:
keys announced while a gap runs are published together, by a thread of its own, when it
ends. What the callers rely on:

- **The gap.** Two batches are at least ``gap()`` apart, so one key is published at most
  once per gap (a reader learns of an event at most a gap late).
- **The last one.** Every key announced is published after it was announced: the burst's
  last event is never left unpublished. :meth:`stop` publishes what is pending at once,
  and an announcement after it is published by the caller, there and then.
- **Two ways to start a burst.** ``first_inline=False`` (the queue announcer): the thread
  publishes the first key after a quiet spell at once, and starts the gap then.
  ``first_inline=True`` (stream writes): the caller asks :meth:`inline` whether to notify
  itself (in its own statement, for free); if so that starts the key's gap, and the keys
  announced after it wait for the gap's end.
- **Failures.** A publish that fails is logged and dropped: the thread goes on, and the
  other processes fall back to their periodic polls.
- **Fork.** A forked child has no thread and no pending keys (its parent publishes
  those); its first announcement starts a thread of its own.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence

from transact.errors import DBOSException

__all__ = ["CoalescedPublisher"]

logger = logging.getLogger("dbos")

_FORGET_AFTER = 1024
"""Keys whose inline notification is remembered before those outside their gap are dropped
(a long-lived process writes many streams)."""


class CoalescedPublisher:
    """Publishes announced keys in batches at least a gap apart (see the module docstring).

    ``publish`` sends keys to the other processes (``Store.publish``); ``gap`` returns the
    least time between two batches, read at each use, so that a module constant of the
    caller's stays the one knob (tests widen it while a runtime runs); ``what`` names the
    events in log messages."""

    def __init__(
        self,
        publish: Callable[[Sequence[str]], None],
        *,
        gap: Callable[[], float],
        first_inline: bool,
        thread_name: str,
        what: str,
    ) -> None:
        self._publish = publish
        self._gap = gap
        self._first_inline = first_inline
        self._thread_name = thread_name
        self._what = what
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._last: dict[str, float] = {}  # first_inline: when each key last notified
        self._thread: threading.Thread | None = None
        self._stopped = False
        _LIVE.add(self)

    def start(self) -> None:
        """Start the thread now rather than with the first announcement."""
        with self._cond:
            if self._thread is None and not self._stopped:
                self._start_locked()

    def inline(self, key: str) -> bool:
        """(``first_inline``) Whether the event of ``key`` about to happen notifies by
        itself: yes after a quiet spell, which starts the key's gap. If not, call
        :meth:`announce` once the event is visible to the other processes (committed)."""
        now = time.monotonic()
        with self._cond:
            last = self._last.get(key)
            if (last is not None and now - last < self._gap()) or key in self._pending:
                return False
            if len(self._last) >= _FORGET_AFTER:
                gap = self._gap()
                self._last = {k: t for k, t in self._last.items() if now - t < gap}
            self._last[key] = now
            return True

    def announce(self, key: str) -> None:
        """Have ``key`` published with the next batch (at once after :meth:`stop`)."""
        with self._cond:
            if not self._stopped:
                if key not in self._pending:
                    self._pending.add(key)
                    # Only the first key wakes the thread: while keys are pending it waits
                    # for the gap's end, which later ones must not cut short.
                    if len(self._pending) == 1:
                        if self._thread is None:
                            self._start_locked()
                        self._cond.notify()
                return
        self._publish_now([key])  # stopped: nobody is left to publish it later

    def stop(self) -> None:
        """Publish what is pending at once, then end the thread. Idempotent."""
        with self._cond:
            self._stopped = True
            thread = self._thread
            self._cond.notify()
        if thread is not None:
            thread.join(timeout=10)

    def _start_locked(self) -> None:
        thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        thread.start()  # runs ``_run`` only once the caller releases the lock
        self._thread = thread

    def _run(self) -> None:
        next_batch = 0.0  # when the gap after the last batch ends
        while True:
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait()
                if not self._pending:
                    return
                gap = self._gap()
                now = time.monotonic()
                # ``first_inline``: the burst's first event notified by itself just now.
                due = max(now + gap if self._first_inline else now, next_batch)
                while not self._stopped and (left := due - time.monotonic()) > 0:
                    self._cond.wait(left)  # the keys announced meanwhile join the batch
                keys, self._pending = sorted(self._pending), set()
                if self._first_inline:
                    now = time.monotonic()
                    for key in keys:
                        self._last[key] = now
            self._publish_now(keys)
            next_batch = time.monotonic() + gap

    def _publish_now(self, keys: Sequence[str]) -> None:
        try:
            self._publish(keys)
        except Exception as exc:  # the thread must go on; the peers' polls find the rows
            if isinstance(exc, DBOSException):
                logger.warning("Could not announce %s on %s: %s", self._what, keys, exc)
            else:
                logger.exception("Could not announce %s on %s", self._what, keys)

    def _forget_parent(self) -> None:
        # After a fork: the parent's thread does not run in the child, and its lock may
        # have been held at the fork. The parent publishes what was pending.
        self._cond = threading.Condition()
        self._pending = set()
        self._thread = None


_LIVE: weakref.WeakSet[CoalescedPublisher] = weakref.WeakSet()


def _forget_parents_after_fork() -> None:
    for publisher in list(_LIVE):
        publisher._forget_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parents_after_fork)
