"""Postgres: stream writes in a burst share their notifications.

A ``pg_notify`` riding on a write costs little in the statement, but Postgres queues it
at commit and wakes every listening process, this one included: with one per value, a
burst of stream writes spent a sixth of each write on notifications nobody needed one
by one (a reader reads whatever is there when it wakes). So, per stream key, the first
write after a quiet spell notifies in its own statement, as before; the writes in the
``GAP_SECONDS`` that follow do not, and are announced together by one ``pg_notify`` from
a thread of their own at the end of the gap. Each such write is registered only after
it committed, so the announcement a reader gets is never earlier than the value it
announces. Same-process readers are woken directly and do not depend on any of this.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

__all__ = ["GAP_SECONDS", "CoalescedNotices"]

logger = logging.getLogger("dbos")

GAP_SECONDS = 0.005
"""Least time between two notifications of one stream key (as ``announcer.py`` does for
queues): a reader in another process learns of a value in a burst at most this late."""

_FORGET_AFTER = 1024
"""Keys remembered before those outside their gap are dropped (a long-lived process
writes many streams)."""


class CoalescedNotices:
    """Decides which writes notify in their own statement, and announces the others."""

    def __init__(self, publish: Callable[[Sequence[str]], None]) -> None:
        self._publish = publish
        self._cond = threading.Condition()
        self._last: dict[str, float] = {}
        self._pending: set[str] = set()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def inline(self, key: str) -> bool:
        """Whether the write of ``key`` about to run notifies in its own statement: yes
        after a quiet spell (which starts the key's gap). If not, call :meth:`committed`
        once it committed."""
        now = time.monotonic()
        with self._cond:
            last = self._last.get(key)
            if (last is not None and now - last < GAP_SECONDS) or key in self._pending:
                return False
            if len(self._last) >= _FORGET_AFTER:
                self._last = {k: t for k, t in self._last.items() if now - t < GAP_SECONDS}
            self._last[key] = now
            return True

    def committed(self, key: str) -> None:
        """A write of ``key`` that did not notify committed: announce it at the gap's end."""
        with self._cond:
            stopped = self._stopped
            if not stopped:
                self._pending.add(key)
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="transact-stream-notices", daemon=True
                    )
                    self._thread.start()
                self._cond.notify()
        if stopped:  # the store is closing: nobody is left to announce it later
            self._publish_now([key])

    def stop(self) -> None:
        """Announce what is pending, then end the thread."""
        with self._cond:
            self._stopped = True
            thread = self._thread
            self._cond.notify()
        if thread is not None:
            thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait()
                if self._stopped and not self._pending:
                    return
            time.sleep(GAP_SECONDS)  # the rest of the burst joins this announcement
            with self._cond:
                keys, self._pending = sorted(self._pending), set()
                now = time.monotonic()
                for key in keys:
                    self._last[key] = now
            self._publish_now(keys)

    def _publish_now(self, keys: Sequence[str]) -> None:
        try:
            self._publish(keys)
        except Exception:  # readers in other processes fall back to their periodic check
            logger.warning("Could not announce stream writes on %s", keys, exc_info=True)
