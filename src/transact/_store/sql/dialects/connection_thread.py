"""What the store's background connection threads share: a stop flag, and their
outage log (one warning when the connection is lost, one when it is back, none per
retry in between). Used by the Postgres LISTEN thread (``listener.py``) and the SQLite
change watcher (``change_watcher.py``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["ConnectionThread"]

logger = logging.getLogger("dbos")


class ConnectionThread:
    """A daemon thread named ``name`` running ``target``, which calls itself ``what``
    (``"notification listener"``) on ``where`` (a URL or path, without secrets) in its
    log lines."""

    def __init__(self, target: Callable[[], None], name: str, what: str, where: str) -> None:
        self._what = what
        self._where = where
        self._lost_since: float | None = None  # when the connection failed, if it has
        self._stop = threading.Event()
        self._thread = threading.Thread(target=target, name=name, daemon=True)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close its connection."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _lost(self, detail: str, then: str) -> None:
        """Note the connection lost (``detail``: why; ``then``: what the thread does
        next); only the first failure of an outage is logged."""
        if self._lost_since is None:
            self._lost_since = time.monotonic()
            logger.warning("%s lost %s (%s); %s", self._what, self._where, detail, then)

    def _back(self) -> None:
        """Note the connection working again, with how long it was away."""
        if self._lost_since is not None:
            logger.warning(
                "%s back on %s after %.1fs",
                self._what,
                self._where,
                time.monotonic() - self._lost_since,
            )
            self._lost_since = None
