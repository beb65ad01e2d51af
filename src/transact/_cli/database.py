"""``transact migrate`` and ``transact reset``: create, upgrade or empty a system database."""

from __future__ import annotations

import argparse

from transact._cli.output import confirmed
from transact._cli.types import Subparsers
from transact._cli.urls import UsageError, system_database_url
from transact._facade.migration import migrate_system_database, pending_statements
from transact._store.factory import open_store


def add_parser(commands: Subparsers) -> None:
    """Declare ``migrate`` and ``reset``."""
    migrate = commands.add_parser(
        "migrate",
        help="create or upgrade the system database",
        description="Create or upgrade the system database (idempotent; safe while "
        "applications run).",
    )
    migrate.add_argument("-s", "--sys-db-url", help="the system database URL")
    migrate.add_argument("-r", "--app-role", help="Postgres: grant this role use of the schema")
    migrate.add_argument(
        "--print-migrations",
        action="store_true",
        help="print the SQL that would run, and run nothing",
    )
    migrate.set_defaults(run=run_migrate)

    reset = commands.add_parser(
        "reset",
        help="delete every workflow from the system database",
        description="Delete every workflow and its history (asks first unless -y).",
    )
    reset.add_argument("-s", "--sys-db-url", help="the system database URL")
    reset.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(run=run_reset)


def run_migrate(options: argparse.Namespace) -> int:
    """``migrate``."""
    url = system_database_url(options.sys_db_url)
    if options.print_migrations:
        statements = pending_statements(url)
        for statement in statements:
            print(statement.rstrip(";") + ";\n")
        if not statements:
            print("-- the schema is up to date")
        return 0
    migrate_system_database(url, application_role=options.app_role)
    print(f"migrated {url}" + (f"; granted {options.app_role}" if options.app_role else ""))
    return 0


def run_reset(options: argparse.Namespace) -> int:
    """``reset``."""
    url = system_database_url(options.sys_db_url)
    if not options.yes and not confirmed(f"Delete every workflow in {url}? [y/N] "):
        raise UsageError("reset cancelled")
    store = open_store(url)
    try:
        store.migrate()
        store.reset()
    finally:
        store.close()
    print(f"reset {url}")
    return 0
