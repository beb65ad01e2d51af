"""Telling other processes about enqueues, coalesced.

Every ``queue:<name>`` notification wakes every process serving queues (Postgres's
``transact_queues`` channel), so one per enqueue cost more than the enqueue itself. An
enqueue wakes this process's runner of the queue directly (:func:`announce`) and leaves
the other processes to the runtime's :class:`QueueAnnouncer`, which sends at most one
notification per queue every ``ANNOUNCE_GAP_SECONDS``. (Rows that become ENQUEUED in
other ways, a released delay or a resume, are announced by a trigger.)
"""

from __future__ import annotations

import weakref

from transact._runtime.services import Services
from transact._store.coalesced_publish import CoalescedPublisher
from transact._store.notifications import queue_key

__all__ = ["ANNOUNCE_GAP_SECONDS", "QueueAnnouncer", "announce", "queue_key", "retire", "serve"]

ANNOUNCE_GAP_SECONDS = 0.01
"""Least time between two announcements of one queue's enqueues to other processes: the
same as a runner's claim gap, which is as soon as they would claim anyway."""


def announce(runtime: Services, queue_name: str) -> None:
    """A row was just inserted on ``queue_name``: wake this process's runner of it, and
    have the runtime's announcer tell the other processes."""
    runtime.waiters.notify(queue_key(queue_name))
    announcer = _ANNOUNCERS.get(runtime)
    if announcer is not None:
        announcer.announce(queue_name)
    else:  # not launched (yet): no coalescing, but nobody may miss the row
        runtime.store.publish([queue_key(queue_name)])


def _gap() -> float:
    return ANNOUNCE_GAP_SECONDS  # read at each use: tests widen it while a runtime runs


class QueueAnnouncer:
    """Tells other processes which queues this process enqueued on, coalesced: at most
    one notification per queue every ``ANNOUNCE_GAP_SECONDS``. The first enqueue after a
    quiet spell is announced at once (by the announcer's thread); those in the gap that
    follows, at its end (see ``coalesced_publish.py``)."""

    def __init__(self, runtime: Services) -> None:
        self._publisher = CoalescedPublisher(
            runtime.store.publish,
            gap=_gap,
            first_inline=False,
            thread_name="transact-queue-announcer",
            what="enqueues",
        )

    def start(self) -> None:
        """Start the announcer's thread."""
        self._publisher.start()

    def announce(self, queue_name: str) -> None:
        """Announce ``queue_name`` with the next notification."""
        self._publisher.announce(queue_key(queue_name))

    def stop(self) -> None:
        """Send what is pending, then end the thread (later announcements are sent at
        once, one by one). Idempotent."""
        self._publisher.stop()


_ANNOUNCERS: weakref.WeakKeyDictionary[Services, QueueAnnouncer] = weakref.WeakKeyDictionary()


def serve(runtime: Services, announcer: QueueAnnouncer) -> None:
    """Have ``announcer`` (started) announce ``runtime``'s enqueues from now on."""
    _ANNOUNCERS[runtime] = announcer


def retire(runtime: Services, announcer: QueueAnnouncer) -> None:
    """Stop ``announcer`` (after it sent what is pending); ``runtime``'s enqueues are
    then published one by one."""
    if _ANNOUNCERS.get(runtime) is announcer:
        del _ANNOUNCERS[runtime]
    announcer.stop()
