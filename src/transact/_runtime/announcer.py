"""Telling other processes about enqueues, coalesced.

Every ``queue:<name>`` notification wakes every listening process, so one per enqueue
cost more than the enqueue itself. An enqueue wakes this process's runner of the queue
directly (:func:`announce`) and leaves the other processes to the runtime's
:class:`QueueAnnouncer`, which sends at most one notification per queue every
``ANNOUNCE_GAP_SECONDS``. (Rows that become ENQUEUED in other ways, a released delay or
a resume, are announced by a trigger.)
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

from transact._runtime.services import Services
from transact.errors import DBOSException

__all__ = ["ANNOUNCE_GAP_SECONDS", "QueueAnnouncer", "announce", "queue_key", "retire", "serve"]

logger = logging.getLogger("dbos")

ANNOUNCE_GAP_SECONDS = 0.005
"""Least time between two announcements of one queue's enqueues to other processes: the
same as a runner's claim gap, which is as soon as they would claim anyway."""


def queue_key(queue_name: str) -> str:
    """The waiter key that wakes ``queue_name``'s runner (also a Postgres payload)."""
    return f"queue:{queue_name}"


def announce(runtime: Services, queue_name: str) -> None:
    """A row was just inserted on ``queue_name``: wake this process's runner of it, and
    have the runtime's announcer tell the other processes."""
    runtime.waiters.notify(queue_key(queue_name))
    announcer = _ANNOUNCERS.get(runtime)
    if announcer is not None:
        announcer.announce(queue_name)
    else:  # not launched (yet): no coalescing, but nobody may miss the row
        runtime.store.publish([queue_key(queue_name)])


class QueueAnnouncer(threading.Thread):
    """Tells other processes which queues this process enqueued on, coalesced: at most
    one notification per queue every ``ANNOUNCE_GAP_SECONDS``. The first enqueue after a
    quiet spell is announced at once; those in the gap that follows, at its end."""

    def __init__(self, runtime: Services) -> None:
        super().__init__(name="transact-queue-announcer", daemon=True)
        self._store = runtime.store
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._stopped = False

    def announce(self, queue_name: str) -> None:
        """Announce ``queue_name`` with the next notification."""
        with self._cond:
            if queue_name not in self._pending:
                self._pending.add(queue_name)
                self._cond.notify()

    def stop(self) -> None:
        """Send what is pending, then end the thread."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self.join(timeout=10)

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait()
                names, self._pending = sorted(self._pending), set()
                stopped = self._stopped
            try:
                self._store.publish([queue_key(name) for name in names])
            except Exception as exc:  # the thread must go on; the peers' polls find the rows
                if isinstance(exc, DBOSException):
                    logger.warning("Could not announce enqueues on %s: %s", names, exc)
                else:
                    logger.exception("Could not announce enqueues on %s", names)
            if stopped:
                return
            time.sleep(ANNOUNCE_GAP_SECONDS)  # enqueues meanwhile share the next one


_ANNOUNCERS: weakref.WeakKeyDictionary[Services, QueueAnnouncer] = weakref.WeakKeyDictionary()


def serve(runtime: Services, announcer: QueueAnnouncer) -> None:
    """Have ``announcer`` (started) announce ``runtime``'s enqueues from now on."""
    _ANNOUNCERS[runtime] = announcer


def retire(runtime: Services, announcer: QueueAnnouncer) -> None:
    """Stop ``announcer`` (after it sent what is pending); ``runtime``'s enqueues are
    then published one by one."""
    if _ANNOUNCERS.get(runtime) is announcer:
        del _ANNOUNCERS[runtime]
    if announcer.is_alive():
        announcer.stop()
