"""``FakeClock``: durable sleeps and timeouts in virtual time (``transact.testing``)."""

from __future__ import annotations

import asyncio
import threading


class FakeClock:
    """A clock whose waits advance virtual time instead of sleeping.

    By default a wait that is not satisfied yields the thread for ``real_pause`` seconds
    (so other threads can write) and then moves the clock forward by its whole timeout.
    With ``auto_advance=True`` every timed wait registers its deadline and time jumps to
    the earliest registered deadline once that waiter has gone one ``real_pause``
    without being woken: concurrent sleeps end in deadline order on one shared timeline
    (a 1-hour sleep ends before a 1-day one, and ``now()`` never runs past a deadline
    nobody reached), so a workflow that sleeps for days finishes in milliseconds with
    no ``advance`` call.
    """

    def __init__(
        self,
        start: float = 1_700_000_000.0,
        *,
        real_pause: float = 0.001,
        auto_advance: bool = False,
    ) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.real_pause = real_pause
        self.auto_advance = auto_advance
        self._deadlines: dict[object, float] = {}

    def now(self) -> float:
        """The virtual time, in epoch seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move virtual time forward."""
        with self._lock:
            self._now += seconds

    def _register(self, timeout: float) -> tuple[object, float]:
        token = object()
        with self._lock:
            deadline = self._deadlines[token] = self._now + timeout
        return token, deadline

    def _due(self, token: object, deadline: float) -> bool:
        """After one unanswered pause: jump to ``deadline`` if it is the earliest one."""
        with self._lock:
            if self._now < deadline and deadline <= min(self._deadlines.values()):
                self._now = deadline
            if self._now >= deadline:
                del self._deadlines[token]
                return True
            return False

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Return at once if ``event`` is set; else pause briefly and skip ``timeout``."""
        if self.auto_advance and timeout is not None:
            token, deadline = self._register(timeout)
            while not event.wait(self.real_pause):
                if self._due(token, deadline):
                    return event.is_set()
            with self._lock:
                self._deadlines.pop(token, None)
            return True
        if event.wait(self.real_pause if timeout is None else min(self.real_pause, timeout)):
            return True
        if timeout is not None:
            self.advance(timeout)
        return event.is_set()

    async def wait_async(self, event: threading.Event, timeout: float | None) -> bool:
        """``wait`` for the event loop: yield the loop briefly, then skip ``timeout``."""
        if event.is_set():
            return True
        if self.auto_advance and timeout is not None:
            token, deadline = self._register(timeout)
            while not event.is_set():
                await asyncio.sleep(self.real_pause)
                if not event.is_set() and self._due(token, deadline):
                    return False
            with self._lock:
                self._deadlines.pop(token, None)
            return True
        await asyncio.sleep(self.real_pause if timeout is None else min(self.real_pause, timeout))
        if event.is_set():
            return True
        if timeout is not None:
            self.advance(timeout)
        return event.is_set()
