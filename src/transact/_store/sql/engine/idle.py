"""A shelf of idle driver connections that the backend's one-statement calls reuse.

Each raw call (a step's checkpoint, an enqueue, a workflow's finish) checks a driver
connection out and back in. Through SQLAlchemy's pool that round trip costs a new
``_ConnectionFairy``, the checkout and checkin events, the reset-on-return decision and
the pool queue's condition: about 40% of the Python time of one insert on Postgres
(profiled with py-spy). The shelf keeps a few connections checked out of the pool and
idle between calls instead: taking or giving one back is a ``deque`` pop or append.

Only a connection in a known clean state goes on the shelf (the dialect decides: on
Postgres, idle in autocommit, no transaction open). A connection whose state is unknown
(lost, or a rollback failed) empties the shelf: a server that dropped one connection
usually dropped them all, and the pool, not the shelf, replaces them. The shelf holds
at most ``capacity`` connections, so the rest of the pool stays free for transactions.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable
from typing import Any

__all__ = ["IdleConnections", "shelf_capacity"]


def shelf_capacity(pool_size: int) -> int:
    """How many idle connections a pool of ``pool_size`` lends the shelf: a quarter,
    enough for the usual number of concurrent one-statement calls; none from a pool of
    three or fewer, which a few transactions may need whole."""
    return pool_size // 4


class IdleConnections:
    """Up to ``capacity`` pooled connections ("fairies") that ``is_clean`` accepted,
    handed out last in, first out (the warmest session first, as the pool does)."""

    def __init__(self, capacity: int, is_clean: Callable[[Any], bool]) -> None:
        self.capacity = capacity
        self._is_clean = is_clean
        self._shelf: collections.deque[Any] = collections.deque()
        self._retired: list[Any] = []

    def __len__(self) -> int:
        return len(self._shelf)

    def take(self) -> Any | None:
        """An idle connection, or None when the shelf is empty."""
        try:
            return self._shelf.pop()  # atomic: no lock needed between threads
        except IndexError:
            return None

    def give(self, fairy: Any) -> bool:
        """Shelve ``fairy`` if there is room and it is clean; False: the caller closes it
        (back to the pool)."""
        if len(self._shelf) >= self.capacity or not self._is_clean(fairy.dbapi_connection):
            return False
        self._shelf.append(fairy)
        return True

    def close_all(self) -> None:
        """Give every shelved connection back to the pool (which keeps or discards it)."""
        while (fairy := self.take()) is not None:
            with contextlib.suppress(Exception):
                fairy.close()

    def on_invalidate(self, *_event: object) -> None:
        """The pool's ``invalidate`` event: a connection was found dead; empty the shelf."""
        self.close_all()

    def forget(self) -> None:
        """After a fork: drop the parent's connections without touching them (closing
        or resetting one would act on the parent's session). They stay referenced, so
        no garbage-collection finalizer ever runs on them in this process."""
        self._retired.extend(self._shelf)
        self._shelf.clear()
