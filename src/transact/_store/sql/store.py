"""``SQLStore``: the one ``Store`` implementation over SQLAlchemy Core.

The verbs live in one mixin per concern (workflows, checkpoints, messages, events,
streams, maintenance, queues); this class composes them and owns the lifecycle. The
SQLite and Postgres stores subclass it only to prepare the database, lock migrations and
listen for notifications.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from transact._store.protocol import NotifyCallback
from transact._store.sql.engine.backend import Backend, Mode
from transact._store.sql.schema.migrations import apply_pending
from transact._store.sql.verbs.checkpoints import CheckpointVerbs
from transact._store.sql.verbs.events import EventVerbs
from transact._store.sql.verbs.maintenance import MaintenanceVerbs
from transact._store.sql.verbs.messages import MessageVerbs
from transact._store.sql.verbs.notify import NOTIFY_KEY, PUBLISH, payload
from transact._store.sql.verbs.queues import QueueVerbs
from transact._store.sql.verbs.streams import StreamVerbs
from transact._store.sql.verbs.workflows import WorkflowVerbs
from transact.errors import DBOSException, DBOSInitializationError

__all__ = ["SQLStore"]


class SQLStore(
    WorkflowVerbs,
    CheckpointVerbs,
    MessageVerbs,
    EventVerbs,
    StreamVerbs,
    MaintenanceVerbs,
    QueueVerbs,
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

    def _migrate_locked(self, conn: Connection) -> None:
        self._lock_migrations(conn)
        apply_pending(conn)

    def subscribe(self, on_notify: NotifyCallback) -> bool:
        """Return False: other processes' writes must be polled for."""
        return False

    def listen_for_outcomes(self) -> None:
        """Nothing to do: other processes' outcomes are polled for."""

    def publish(self, keys: Sequence[str]) -> None:
        """``pg_notify`` each key, one autocommit statement each, where the database
        pushes notifications (Postgres); else nothing (see ``Store``)."""
        if self._db.notify:
            for key in keys:
                self._db.execute_one(PUBLISH, {NOTIFY_KEY: payload(key)})

    def close(self) -> None:
        """Close every pooled connection."""
        self._db.dispose()
