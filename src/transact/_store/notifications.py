"""The part of the ``Store`` protocol that wakes other processes: subscribing to their
writes, announcing one's own, and saying which of them a process wants to hear. Same
contract as ``protocol.py``.

A process hears what every process needs (statuses, messages, events, streams) once it
subscribes, and two kinds of keys only when it asks: outcomes (``listen_for_outcomes``,
before awaiting a result) and enqueues (``serve_queue``, when it runs queue runners). A
client that enqueues and never dequeues is then not woken by every enqueue, its own
included, and is not counted as a worker sharing a queue's global concurrency limit; a
process counts only for the queues it serves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

__all__ = ["QUEUE_KEY_PREFIX", "NotificationStore", "NotifyCallback", "queue_key"]

NotifyCallback = Callable[[str], None]
"""Called with a channel key when another process wrote something a waiter may want.

Keys: ``"status:<wf>"`` (outcome recorded / status changed), ``"message:<wf>::<topic>"``,
``"event:<wf>::<key>"``, ``"stream:<wf>::<key>"``, ``"queue:<name>"`` (a row became
ENQUEUED on that queue). A topic of None is written as the empty string in keys.
"""


QUEUE_KEY_PREFIX = "queue:"


def queue_key(queue_name: str) -> str:
    """The key of a row enqueued on ``queue_name``: what its runners wait on in this
    process, and (Postgres) the payload of the announcement to the others."""
    return f"{QUEUE_KEY_PREFIX}{queue_name}"


class NotificationStore(Protocol):
    """Cross-process wake-ups (a part of ``Store``)."""

    def subscribe(self, on_notify: NotifyCallback) -> bool:
        """Deliver cross-process notifications to ``on_notify``.

        Returns True if the store delivers them (Postgres LISTEN/NOTIFY; SQLite's change
        log, read by a watcher thread), so waiters may poll rarely; False if it cannot
        (memory: one process), so waiters must poll. Called at most once per store.
        """
        ...

    def listen_for_outcomes(self) -> None:
        """Also deliver other processes' workflow outcomes (``status:<id>`` when SUCCESS
        or ERROR is recorded) to the ``subscribe`` callback, from now on.

        Called before awaiting a result: a process that never awaits one is not woken by
        every workflow that finishes. Returns once the outcomes will be heard. A no-op
        where ``subscribe`` returns False (waiters poll) or was not called.
        """
        ...

    def serve_queue(self, queue_name: str) -> None:
        """This process claims from ``queue_name``: from the first call on, also deliver
        other processes' enqueues (``queue:<name>``) to the ``subscribe`` callback
        (returning once they will be heard), and count this process among the queue's
        live workers that share its global concurrency limit, within a fraction of a
        second and until :meth:`retire_queue` or :meth:`close`. A no-op where
        ``subscribe`` returns False or was not called (SQLite's runners find other
        processes' rows at their poll, and each process is its only worker)."""
        ...

    def retire_queue(self, queue_name: str) -> None:
        """This process no longer claims from ``queue_name`` (a stored queue deleted):
        it stops counting among that queue's live workers."""
        ...

    def publish(self, keys: Sequence[str]) -> None:
        """Send ``keys`` (``NotifyCallback`` keys) to every subscribed process that hears
        them (``queue:`` keys: those serving queues), this one included; a no-op where
        ``subscribe`` returns False. For wake-ups no write sends by itself, such as an
        enqueueing process announcing its new rows.
        """
        ...
