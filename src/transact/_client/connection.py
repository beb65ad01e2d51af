"""A client's view of a system database: the store, an ``Env`` for the shared read and
wait helpers, and the notifications that wake its waits (Postgres) or the short poll
that replaces them (SQLite).

A client registers no workflow, runs none and never migrates: everything it writes is
left for the application's executors.
"""

from __future__ import annotations

import threading

import attrs

from transact._facade.remote import Remote
from transact._runtime.awaiting import Awaiting
from transact._runtime.clock import SystemClock
from transact._runtime.env import Env
from transact._serialization import Serializer
from transact._store.factory import open_store
from transact._store.protocol import Store

# Executors own the rows they run; a client's writes name no executor of its own.
CLIENT_EXECUTOR_ID = "dbos-client"


@attrs.define(eq=False)
class Connection:
    """An open system database with what the client's operations share."""

    store: Store
    env: Env
    awaiting: Awaiting
    remote: Remote
    _listening: bool = False
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def listen(self) -> None:
        """Subscribe to the database's notifications once (a no-op where there are none)."""
        with self._lock:
            if not self._listening:
                self.store.subscribe(self.env.waiters.notify)
                self._listening = True

    def close(self) -> None:
        """Close the store: stops the listener and returns every connection."""
        self.store.close()


class ClientBase:
    """What every ``DBOSClient`` member reads: its connection and application name."""

    _connection: Connection
    application_name: str | None


def connect(url: str, *, serializer: Serializer, pool_size: int, poll_seconds: float) -> Connection:
    """Open ``url`` without migrating it. ``DBOSInitializationError`` for a bad URL."""
    store = open_store(url, pool_size=pool_size)
    clock = SystemClock()
    env = Env(
        store=store,
        serializer=serializer,
        clock=clock,
        performers={},
        executor_id=CLIENT_EXECUTOR_ID,
        poll_seconds=poll_seconds,
    )
    remote = Remote(store, clock=clock, waiters=env.waiters, executor_id=CLIENT_EXECUTOR_ID)
    return Connection(store=store, env=env, awaiting=Awaiting(env), remote=remote)
