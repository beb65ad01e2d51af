"""The Postgres LISTEN thread: delivers ``pg_notify`` payloads to a callback.

It holds one dedicated autocommit psycopg connection (not a pooled one: a LISTEN lasts
as long as its session). After a dropped connection it sleeps a second and reconnects;
notifications sent while it was away are lost, which is why waiters still re-check
the database now and then even when notifications are pushed. A listener with a
:class:`Registration` also records its session where writers look before they notify
(the outcome listener: ``schema/outcome_listeners.py``), on every new session.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import attrs
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from transact._store.protocol import NotifyCallback
from transact._store.sql.dialects.connection_thread import ConnectionThread
from transact._store.sql.dialects.postgres_session import APPLICATION_NAME

__all__ = ["Listener", "Registration"]

logger = logging.getLogger("dbos")

_POLL_SECONDS = 0.25  # how often the thread looks at its stop flag while idle
_RECONNECT_SECONDS = 1.0
_REGISTER_RETRY_SECONDS = (0.25, 5.0)  # first and longest gap between registration tries


@attrs.frozen
class Registration:
    """Statements a listener's session runs: ``statements`` in one transaction once it
    listens, before it counts as connected (a lock they cannot take soon is tried
    again later), and ``unregister`` when the thread stops."""

    statements: tuple[str, ...]
    unregister: str


class Listener(ConnectionThread):
    """A daemon thread LISTENing on ``channel`` through ``conninfo``, until :meth:`stop`."""

    def __init__(
        self,
        conninfo: str,
        channel: str,
        on_notify: NotifyCallback,
        *,
        safe_url: str,
        registration: Registration | None = None,
    ) -> None:
        super().__init__(self._run, "transact-pg-listener", "notification listener", safe_url)
        self._conninfo = conninfo
        # Shared advisory locks its session holds while it is connected (``present``):
        # how other processes count the live workers of a queue (fair shares of a global
        # limit). The thread takes and drops them between its waits for notifications.
        self._presence: set[tuple[int, int]] = set()
        self._held: set[tuple[int, int]] = set()
        self._channel = channel
        self._register = () if registration is None else registration.statements
        self._unregister = None if registration is None else registration.unregister
        self._refused = False  # the registration was refused once (warned about)
        self._registered = not self._register  # on the current session
        self._register_at = 0.0  # when to try a postponed registration again
        self._register_delay = _REGISTER_RETRY_SECONDS[0]
        self._on_notify = on_notify
        self._safe_url = safe_url
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.connections = 0
        """How many times it has connected (tests watch it reconnect)."""

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        """Wait until the LISTEN is in place; False on timeout."""
        return self._connected.wait(timeout)

    def backend_pid(self) -> int | None:
        """The server process id of the current listening connection, if connected."""
        with self._lock:
            conn = self._conn
            return None if conn is None or conn.closed else conn.info.backend_pid

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                detail = str(exc).strip()
                self._lost(detail.splitlines()[0] if detail else "closed", "reconnecting")
            except Exception:  # a bug must not kill the thread silently
                logger.exception("LISTEN thread error on %s", self._safe_url)
            finally:
                self._connected.clear()
                self._close()
            self._stop.wait(_RECONNECT_SECONDS)

    def _listen(self) -> None:
        conninfo = self._conninfo
        if "application_name" not in conninfo_to_dict(conninfo):
            conninfo = make_conninfo(conninfo, application_name=APPLICATION_NAME)
        conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        with self._lock:
            self._conn = conn
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        self._held = set()  # a new session holds nothing yet
        self._sync_presence(conn)
        self._registered = not self._register
        self._register_delay = _REGISTER_RETRY_SECONDS[0]
        self._register_session(conn)
        self.connections += 1
        self._connected.set()
        self._back()
        while not self._stop.is_set():
            # notifies() returns after the timeout, so the stop flag (and a change of
            # presence) is seen promptly.
            for notification in conn.notifies(timeout=_POLL_SECONDS):
                self._deliver(notification.payload)
                if self._stop.is_set():
                    break
            else:
                self._sync_presence(conn)
                if not self._registered and time.monotonic() >= self._register_at:
                    self._register_session(conn)
        if self._unregister is not None:  # stopping: the session's row goes with it
            with contextlib.suppress(psycopg.Error):
                conn.execute(self._unregister)

    def _register_session(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        """Run the registration (once it has succeeded, or failed for good, it is not
        run again on this session); a lock it could not take soon is tried again later."""
        if self._registered:
            return
        self._registered = True  # unless the lock was busy (below)
        try:
            with conn.transaction():
                for statement in self._register:
                    conn.execute(statement)
        except psycopg.errors.LockNotAvailable:
            # Something holds the table long (a pg_dump): waiting would queue every
            # finish behind this lock, so give up and try again, less and less often.
            self._registered = False
            self._register_at = time.monotonic() + self._register_delay
            self._register_delay = min(self._register_delay * 2, _REGISTER_RETRY_SECONDS[1])
            logger.debug("%s: outcome listener registration postponed", self._safe_url)
        except psycopg.errors.UndefinedTable:
            # A database an older build migrated: its writers notify unconditionally.
            logger.debug("%s has no table to register listeners in", self._safe_url)
        except psycopg.errors.InsufficientPrivilege as exc:
            # A role that may not lock the table still listens; writers notify it only
            # while another session is registered, else its waits poll.
            if not self._refused:
                self._refused = True
                logger.warning(
                    "cannot register as an outcome listener on %s (%s): waits for other "
                    "processes' results fall back to polling",
                    self._safe_url,
                    str(exc).strip().splitlines()[0],
                )

    def present(self, key: tuple[int, int], *, held: bool = True) -> None:
        """Have the session hold (or no longer hold) the shared advisory lock ``key``,
        from the thread's next turn (within ``_POLL_SECONDS``), and on every session
        after a reconnection."""
        with self._lock:
            if held:
                self._presence.add(key)
            else:
                self._presence.discard(key)

    def _sync_presence(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        with self._lock:
            wanted = set(self._presence)
            held = set(self._held)
        for key in sorted(wanted - held):
            conn.execute("SELECT pg_advisory_lock_shared(%s, %s)", key)
        for key in sorted(held - wanted):
            conn.execute("SELECT pg_advisory_unlock_shared(%s, %s)", key)
        with self._lock:
            self._held = wanted

    def _deliver(self, payload: str) -> None:
        try:
            self._on_notify(payload)
        except Exception:
            logger.exception("notification callback failed for %r", payload)

    def _close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()
