"""Time as an input: the runtime reads and waits through a ``Clock``."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time and waiting. Swap in a fake one to make durable sleeps instant."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Wait until ``event`` is set or ``timeout`` seconds pass; True if it was set."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """``event.wait(timeout)``."""
        return event.wait(timeout)


def now_ms(clock: Clock) -> int:
    """The clock's time in epoch milliseconds."""
    return int(clock.now() * 1000)
