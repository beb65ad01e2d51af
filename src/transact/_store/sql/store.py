"""``SQLStore``: the one ``Store`` implementation over SQLAlchemy Core.

The verbs live in one mixin per concern (workflows, checkpoints, messages, events,
streams, maintenance, queues); this class composes them and owns the lifecycle. The
SQLite and Postgres stores subclass it only to prepare the database, lock migrations and
listen for notifications.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, event

from transact._store.protocol import NotifyCallback
from transact._store.sql.engine.backend import Backend, Mode
from transact._store.sql.schema.migrations import apply_pending
from transact._store.sql.verbs.checkpoints import CheckpointVerbs
from transact._store.sql.verbs.definitions import DefinitionVerbs
from transact._store.sql.verbs.delayed import DelayedVerbs
from transact._store.sql.verbs.events import EventVerbs
from transact._store.sql.verbs.exports import ExportVerbs
from transact._store.sql.verbs.maintenance import MaintenanceVerbs
from transact._store.sql.verbs.messages import MessageVerbs
from transact._store.sql.verbs.notify import NOTIFY_KEY, payload, publish_statement
from transact._store.sql.verbs.queues import QueueVerbs
from transact._store.sql.verbs.revisions import RevisionVerbs
from transact._store.sql.verbs.streams import StreamVerbs
from transact._store.sql.verbs.workflows import WorkflowVerbs
from transact.errors import DBOSException, DBOSInitializationError

__all__ = ["SQLStore"]


class _RolledBack(Exception):
    """Raised to roll back the transaction ``migration_statements`` ran the migrations in."""


def _bookkeeping(statement: str) -> bool:
    """Reads and locks of the migration itself, not schema changes to print."""
    head = statement.lstrip().upper()
    return head.startswith(("SELECT", "PRAGMA", "BEGIN"))


class SQLStore(
    WorkflowVerbs,
    CheckpointVerbs,
    MessageVerbs,
    EventVerbs,
    StreamVerbs,
    MaintenanceVerbs,
    QueueVerbs,
    RevisionVerbs,
    DefinitionVerbs,
    ExportVerbs,
    DelayedVerbs,
):
    """A :class:`~transact._store.protocol.Store` on a SQL database (see ``Backend``)."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    @property
    def backend(self) -> Backend:
        """The database this store runs on (engine, URL, flavour)."""
        return self._db

    def migrate(self) -> None:
        """Create or upgrade the schema; idempotent and safe to run from two processes.

        Raises ``DBOSInitializationError`` if the database cannot be reached or migrated.
        """
        try:
            self._prepare_database()
            self._db.run(Mode.WRITE, self._migrate_locked)
        except DBOSInitializationError:
            raise
        except DBOSException as exc:
            raise DBOSInitializationError(
                f"cannot migrate the system database: {exc.message}"
            ) from exc

    def _prepare_database(self) -> None:
        """Make the database exist before migrating (Postgres creates it)."""

    def _lock_migrations(self, conn: Connection) -> None:
        """Serialize concurrent migrations for the rest of ``conn``'s transaction."""

    def migration_statements(self) -> list[str]:
        """The SQL that ``migrate`` would run now, without running it: the pending
        migrations run in a write transaction that captures each statement and is then
        rolled back (both databases have transactional DDL). Empty when up to date."""
        captured: list[str] = []

        def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            captured.append(statement.strip())

        def migrate_then_roll_back(conn: Connection) -> None:
            event.listen(conn, "before_cursor_execute", capture)
            try:
                self._migrate_locked(conn)
            finally:
                event.remove(conn, "before_cursor_execute", capture)
            raise _RolledBack

        with contextlib.suppress(_RolledBack):
            self._db.run(Mode.WRITE, migrate_then_roll_back)
        changes = [statement for statement in captured if not _bookkeeping(statement)]
        # Postgres creates its schema "IF NOT EXISTS" on every run: alone, it is no change.
        return [] if all("IF NOT EXISTS" in statement for statement in changes) else changes

    def _migrate_locked(self, conn: Connection) -> None:
        self._lock_migrations(conn)
        apply_pending(conn)

    def subscribe(self, on_notify: NotifyCallback) -> bool:
        """Return False: other processes' writes must be polled for."""
        return False

    def listen_for_outcomes(self) -> None:
        """Nothing to do: other processes' outcomes are polled for."""

    def serve_queue(self, queue_name: str) -> None:
        """Nothing to do: other processes' enqueues are found at the runners' poll."""

    def retire_queue(self, queue_name: str) -> None:
        """Nothing to do (see ``serve_queue``)."""

    def publish(self, keys: Sequence[str]) -> None:
        """``pg_notify`` each key, one autocommit statement each, where the database
        pushes notifications (Postgres); else nothing (see ``Store``)."""
        if self._db.notify:
            for key in keys:
                self._db.execute_one(publish_statement(key), {NOTIFY_KEY: payload(key)})

    def close(self) -> None:
        """Close every pooled connection."""
        self._db.dispose()
