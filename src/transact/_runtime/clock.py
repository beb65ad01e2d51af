"""Time as an input: the runtime reads and waits through a ``Clock``."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol

from transact._runtime import parking


class Clock(Protocol):
    """Wall-clock time and waiting. Swap in a fake one to make durable sleeps instant."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Wait until ``event`` is set or ``timeout`` seconds pass; True if it was set."""
        ...

    async def wait_async(self, event: threading.Event, timeout: float | None) -> bool:
        """``wait`` for the event loop: the same result, without blocking the loop."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """``event.wait(timeout)``; a background workflow parks instead of holding its
        thread (``parking.py``)."""
        return parking.wait(event, timeout)

    async def wait_async(self, event: threading.Event, timeout: float | None) -> bool:
        """Poll ``event`` in short asyncio sleeps (a thread per wait would tie up the
        default executor), so a set event ends the wait within one slice."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not event.is_set():
            left = _POLL_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(left, _POLL_SECONDS))
        return True


_POLL_SECONDS = 0.05


def now_ms(clock: Clock) -> int:
    """The clock's time in epoch milliseconds."""
    return int(clock.now() * 1000)
