"""The ``transact`` command (also ``python -m transact``), with the subcommands and flags
of DBOS's ``dbos`` command.

A command that cannot do what it was asked (an unknown workflow, a bad URL, an
unreachable database) prints one line on stderr and exits with status 1, no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from transact._cli import dashboard, database, maintenance, rename, workflows
from transact._cli.urls import UsageError
from transact._facade.lifecycle import __version__
from transact.errors import DBOSException


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="transact", description="Operate transact applications.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    version = commands.add_parser("version", help="print the version")
    version.set_defaults(run=lambda options: print(__version__) or 0)
    database.add_parser(commands)
    workflows.add_parser(commands)
    dashboard.add_parser(commands)
    maintenance.add_parser(commands)
    rename.add_parser(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; its exit status."""
    options = parser().parse_args(argv)
    try:
        status: int = options.run(options)
    except (UsageError, DBOSException, ValueError, SQLAlchemyError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"transact: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
