"""``transact rename-application``: after an application is renamed, give its new name
the rows its old name owns in the system database (``DBOSClient.rename_application``,
from any machine that reaches the database)."""

from __future__ import annotations

import argparse
import sys

from transact._cli.output import confirmed, emit
from transact._cli.types import Subparsers
from transact._cli.urls import UsageError, system_database_url
from transact._client.rename import DEFAULT_RENAME_BATCH, check_rename, rename_in
from transact._store.factory import open_store

# DBOS's ``--schema`` names the Postgres schema of its system tables; transact's are
# always in the schema ``transact`` (as ``dbos_system_schema`` in a config), so the
# flag is accepted for scripts written for ``dbos`` and otherwise ignored.
_DBOS_SCHEMA = "dbos"


def add_parser(commands: Subparsers) -> None:
    """Declare ``rename-application``."""
    rename = commands.add_parser(
        "rename-application",
        help="give an application's rows its new name",
        description="Re-own the workflows and application versions of an application "
        "after it is renamed (and, with --adopt-unclaimed-rows, those no application "
        "owns), in batches of one transaction each. Asks first unless -y.",
    )
    rename.add_argument("-s", "--sys-db-url", help="the system database URL")
    rename.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    rename.add_argument("-f", "--from", dest="old_name", help="the application's previous name")
    rename.add_argument("-t", "--to", dest="new_name", required=True, help="its new name")
    rename.add_argument(
        "--adopt-unclaimed-rows",
        action="store_true",
        help="also give the new name the rows no application owns",
    )
    rename.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_RENAME_BATCH,
        help=f"rows re-owned per transaction ({DEFAULT_RENAME_BATCH})",
    )
    rename.add_argument(
        "--schema",
        default=_DBOS_SCHEMA,
        help="accepted for DBOS's command; transact's tables are in the schema 'transact'",
    )
    rename.set_defaults(run=run_rename_application)


def run_rename_application(options: argparse.Namespace) -> int:
    """``rename-application``: prints the counts, ``{"queues": N, ..., "steps": N}``."""
    old_name: str | None = options.old_name
    new_name: str = options.new_name
    adopt: bool = options.adopt_unclaimed_rows
    # Refused before asking, so no one confirms a rename that cannot run.
    check_rename(old_name, new_name, batch_size=options.batch_size, adopt_unclaimed_rows=adopt)
    if options.schema != _DBOS_SCHEMA:
        print(
            f"transact: --schema {options.schema} ignored: the system tables are in the "
            "schema 'transact'",
            file=sys.stderr,
        )
    url = system_database_url(options.sys_db_url)
    if not options.yes and not confirmed(_question(old_name, new_name, adopt, url)):
        raise UsageError("rename-application cancelled")
    store = open_store(url)
    try:
        counts = rename_in(
            store,
            old_name,
            new_name,
            batch_size=options.batch_size,
            adopt_unclaimed_rows=adopt,
        )
    finally:
        store.close()
    emit(counts)
    return 0


def _question(old_name: str | None, new_name: str, adopt: bool, url: str) -> str:
    owners = [f"application '{old_name}'"] if old_name is not None else []
    if adopt:
        owners.append("no application")
    return f"Give '{new_name}' the rows owned by {' or '.join(owners)} in {url}? [y/N] "
