"""Postgres: stream writes in a burst share their notifications.

A ``pg_notify`` riding on a write costs little in the statement, but Postgres queues it
at commit and wakes every listening process, this one included: with one per value, a
burst of stream writes spent a sixth of each write on notifications nobody needed one
by one (a reader reads whatever is there when it wakes). So, per stream key, the first
write after a quiet spell notifies in its own statement, as before; the writes in the
``GAP_SECONDS`` that follow do not, and are announced together by one ``pg_notify`` from
a thread of their own at the end of the gap (``coalesced_publish.py``). Each such write
is announced only after it committed, so the announcement a reader gets is never earlier
than the value it announces. Same-process readers are woken directly and do not depend
on any of this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from transact._store.coalesced_publish import CoalescedPublisher

__all__ = ["GAP_SECONDS", "stream_notices"]

GAP_SECONDS = 0.005
"""Least time between two notifications of one stream key (as ``announcer.py`` does for
queues): a reader in another process learns of a value in a burst at most this late."""


def _gap() -> float:
    return GAP_SECONDS


def stream_notices(publish: Callable[[Sequence[str]], None]) -> CoalescedPublisher:
    """The stream-write notices of a store whose ``publish`` is given: ask ``inline(key)``
    before a write whether it notifies in its own statement; if not, ``announce(key)``
    once it committed."""
    return CoalescedPublisher(
        publish,
        gap=_gap,
        first_inline=True,
        thread_name="transact-stream-notices",
        what="stream writes",
    )
