"""Migrating a system database outside an application: what ``transact migrate`` runs.

``migrate_system_database`` creates or upgrades the schema (the same migrations
``DBOS.launch()`` runs, under the same lock, so it is safe while applications run) and
can grant a Postgres role the use of it; ``pending_statements`` shows the SQL a
migration would run, running nothing.
"""

from __future__ import annotations

import os
import re

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from transact._runtime.appdb import AppDatabase
from transact._store.factory import open_store
from transact._store.sql.schema.migrations import LATEST_VERSION, applied_versions
from transact._store.sql.schema.tables import POSTGRES_SCHEMA
from transact._store.sql.store import SQLStore
from transact.errors import DBOSInitializationError

_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]*$")


def migrate_system_database(url: str, *, application_role: str | None = None) -> None:
    """Create or upgrade the system database at ``url``; with ``application_role``
    (Postgres), grant that role what an application needs on its schema.

    Raises ``DBOSInitializationError`` if the database cannot be reached or migrated, or
    for a role on SQLite or a role name that is not a plain identifier.
    """
    store = open_store(url)
    try:
        store.migrate()
        if application_role is not None:
            _grant(store, application_role)
    finally:
        store.close()


def run_dbos_database_migrations(
    system_database_url: str,
    *,
    app_database_url: str | None = None,
    schema: str | None = "dbos",
    application_role: str | None = None,
) -> None:
    """DBOS's name for migrating outside an application: the system database at
    ``system_database_url``, the application database of ``@DBOS.transaction`` at
    ``app_database_url`` if given, then grants to ``application_role`` (Postgres).

    ``schema`` is accepted for DBOS's signature; the system tables live in the schema
    ``transact`` (see ``docs/design.md``, Departures).
    """
    del schema  # one fixed schema (a Departure); the argument keeps DBOS's signature
    migrate_system_database(system_database_url, application_role=application_role)
    if app_database_url is not None:
        app = AppDatabase(app_database_url)
        try:
            app.migrate()
        finally:
            app.close()


def verify_schema(store: object, url: str) -> None:
    """``run_migrations=False``: refuse (with DBOS's error) a system database whose
    schema is older than this build, instead of migrating it. The memory store passes."""
    if not isinstance(store, SQLStore):
        return
    with store.backend.engine.connect() as conn:
        try:
            current = max(applied_versions(conn), default=0)
        except DBAPIError:  # no version table: a database never migrated
            current = 0
    if current < LATEST_VERSION:
        shown = make_url(url).render_as_string(hide_password=True)
        raise DBOSInitializationError(
            f"System database {shown} is at schema version {current}, but this version of "
            f"DBOS requires {LATEST_VERSION}. This process is configured with run_migrations "
            "disabled, so it will not migrate it: either migrate the system database out of "
            "band (`dbos migrate`) or launch with run_migrations enabled."
        )


def missing_sqlite_file(url: str) -> None:
    """``run_migrations=False`` on a SQLite file that does not exist: DBOS's error."""
    parsed = make_url(url)
    path = parsed.database
    sqlite = parsed.get_backend_name() == "sqlite" and path and path != ":memory:"
    if sqlite and not os.path.exists(str(path)):
        raise DBOSInitializationError(
            f"System database file {path} does not exist. This process is configured "
            "with run_migrations disabled, so it will not create it: either create and "
            "migrate the system database out of band (`dbos migrate`) or launch with "
            "run_migrations enabled."
        )


def pending_statements(url: str) -> list[str]:
    """The SQL that migrating ``url`` would run now (empty when up to date)."""
    store = open_store(url)
    try:
        if not isinstance(store, SQLStore):
            raise DBOSInitializationError("only SQLite and Postgres databases have migrations")
        return store.migration_statements()
    finally:
        store.close()


def _grant(store: object, role: str) -> None:
    if not isinstance(store, SQLStore) or store.backend.dialect_name != "postgresql":
        raise DBOSInitializationError("an application role can only be granted on Postgres")
    if not _ROLE.match(role):
        raise DBOSInitializationError(f"invalid role name {role!r}")
    schema, quoted = POSTGRES_SCHEMA, f'"{role}"'
    with store.backend.engine.begin() as conn:
        for statement in (
            f"GRANT USAGE ON SCHEMA {schema} TO {quoted}",
            f"GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {quoted}",
            f"GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}",
            f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {quoted}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON TABLES TO {quoted}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON SEQUENCES TO {quoted}",
        ):
            conn.execute(text(statement))
